"""Assemble the benchmark tree: public projects that use Celery, ARQ or Temporal, at pinned commits.

    python bench/corpus.py DEST [--source-root DIR]

Each project lands in DEST/<name> with its Python sources and the files that configure linters
(`.py`, `.toml`, `.cfg`, `.ini`, `.gitignore`): about 11,200 .py files in all. A project is taken
from a local git repository under `--source-root` when one is there (`<owner>+<name>/repo`,
`<owner>/<name>`, `<name>` or `<name>.git`), otherwise cloned from GitHub. Any other tree can be
benchmarked directly: `bench/lint.py` takes a path.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

# (owner/name, commit): Celery (Django and plain), ARQ and Temporal code, small and large.
PROJECTS = (
    ("saleor/saleor", "723cd4eba87dfc72822ade45dc08a3caa548428d"),
    ("DefectDojo/django-DefectDojo", "7cfa159a6767b0ac6e66f3b1597a997e607e7308"),
    ("readthedocs/readthedocs.org", "7937196123747181054d4c2361ec81f93c37f8f2"),
    ("mozilla/treeherder", "dc3080dd746d4732d5e06c0272471834d4639da0"),
    ("paperless-ngx/paperless-ngx", "b0e0e8a35373a5d9d588a507cb63c79e50a23403"),
    ("python-arq/arq", "3914e48c530f0e5acf02cb340b1f8f3e201ba895"),
    ("temporalio/samples-python", "e652a4d0e85042a34ec8fc46a4a03e51681fd7f9"),
    # Job code spread over many modules: gwcelery is mostly a package of Celery task modules
    # (the call graph follows tasks through it), Mayan EDMS has a tasks module in each app.
    ("lpsinger/gwcelery", "0566a6e5be2cbb3b5cc9769757224572c3d862d7"),
    ("mayan-edms/Mayan-EDMS", "71788a5196547c61c1ee457ba386cfee98b77daf"),
)
KEPT = (".py", ".toml", ".cfg", ".ini", ".gitignore")


class CorpusError(Exception):
    pass


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise CorpusError(f"git {' '.join(args[:2])} failed: {last}")
    return result.stdout


def local_repository(source_root: Path | None, slug: str) -> Path | None:
    if source_root is None:
        return None
    owner, name = slug.split("/")
    for candidate in (f"{owner}+{name}/repo", f"{owner}/{name}", name, f"{name}.git"):
        path = source_root / candidate
        if (path / "HEAD").exists() or (path / ".git").exists():
            return path
    return None


def git_dir(slug: str, commit: str, source_root: Path | None, cache: Path) -> Path:
    """A git directory that holds `commit`: a local one, or a partial clone made once in `cache`."""
    local = local_repository(source_root, slug)
    if local is not None:
        return local / ".git" if (local / ".git").exists() else local
    clone = cache / slug.replace("/", "+")
    if not clone.exists():
        git("clone", "--quiet", "--bare", "--filter=blob:none", f"https://github.com/{slug}.git", str(clone))
    return clone


def extract(repository: Path, commit: str, destination: Path) -> int:
    listing = git(f"--git-dir={repository}", "ls-tree", "-r", "--name-only", commit)
    names = [name for name in listing.splitlines() if name.endswith(KEPT)]
    destination.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["git", f"--git-dir={repository}", f"--work-tree={destination}", "checkout", "--quiet", "-f", commit,
         "--pathspec-from-file=-"],
        input="\n".join(names), text=True, capture_output=True, check=False,
    )  # fmt: skip
    return sum(1 for n in names if n.endswith(".py") and (destination / n).exists())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dest", type=Path)
    parser.add_argument("--source-root", type=Path, help="directory of local git repositories to take projects from")
    args = parser.parse_args()
    dest = args.dest.resolve()
    cache = dest / ".git-cache"
    total = 0
    try:
        for slug, commit in PROJECTS:
            name = slug.split("/")[1]
            count = extract(git_dir(slug, commit, args.source_root, cache), commit, dest / name)
            print(f"{name:<22} {commit[:12]} {count:>6} .py files")
            total += count
    except CorpusError as error:
        print(f"bench/corpus.py: {error}; pass --source-root with local clones, or benchmark any tree", file=sys.stderr)
        return 2
    print(f"{'total':<22} {'':12} {total:>6} .py files in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
