"""Copier migration: carry the project's edits of a file the template renamed over to the new name.

On update Copier deletes a file the new template version no longer renders, edits included, and
renders the new name fresh. Run after the update, from the project root, this merges the edits
(the last commit's OLD against the previous template version's OLD) into NEW, with the conflict
labels Copier itself uses. Nothing happens when OLD was not committed or was never edited.

Usage: python migrate_renamed_file.py OLD NEW
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from copier import run_copy

ANSWERS_FILE = ".copier-answers.yml"


def git(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=check)


def previous_render(old: str, directory: Path) -> str:
    """OLD as the template version recorded in the last commit's answers rendered it."""
    answers = yaml.safe_load(git("show", f"HEAD:./{ANSWERS_FILE}").stdout)
    run_copy(
        answers["_src_path"],
        directory,
        data={key: value for key, value in answers.items() if not key.startswith("_")},
        vcs_ref=answers["_commit"],
        defaults=True,
        quiet=True,
        skip_tasks=True,
    )
    return (directory / old).read_text()


def main(old: str, new: str) -> int:
    if git("cat-file", "-e", f"HEAD:./{old}", check=False).returncode != 0:
        return 0
    edited = git("show", f"HEAD:./{old}").stdout
    with tempfile.TemporaryDirectory() as scratch:
        base = previous_render(old, Path(scratch) / "previous")
        if edited == base:
            return 0
        Path(scratch, "edited").write_text(edited)
        Path(scratch, "base").write_text(base)
        merge = git(
            "merge-file",
            "-p",
            "-L",
            "before updating",
            "-L",
            "last update",
            "-L",
            "after updating",
            str(Path(scratch, "edited")),
            str(Path(scratch, "base")),
            new,
            check=False,
        )
    # merge-file exits with the number of conflicts (at most 127), or a negative code on error.
    if merge.returncode > 127:
        print(f"{new}: could not merge your edits of {old}: {merge.stderr.strip()}", file=sys.stderr)
        return 1
    Path(new).write_text(merge.stdout)
    outcome = "with conflicts: resolve the markers" if merge.returncode else "cleanly"
    print(f"{old} is now {new}; your edits were merged into it {outcome}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: migrate_renamed_file.py OLD NEW")
    sys.exit(main(sys.argv[1], sys.argv[2]))
