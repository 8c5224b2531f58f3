"""jobs-lint's speed on a tree, next to its peers', in one run.

    python bench/lint.py TREE [--repeat 3] [--skip-slow]

Prints wall time, files/s and peak memory for: jobs-lint cold (empty cache), warm (nothing
changed), one changed file (the pre-commit case); ruff with its pickle rules; bandit with its
pickle tests; Fixit with the same check as JL101's simplest case (`bench/peers/fixit_pickle.py`),
each with its ratio to jobs-lint cold. bandit and Fixit run once each (Fixit takes minutes on a
large tree), in their own environments under `bench/.envs` (Fixit 2.2 pins click<8.2, which
cannot live beside Celery 5.7); `--skip-slow` leaves them out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
PEER_PACKAGES = {"bandit": "bandit==1.9.4", "fixit": "fixit==2.2.1"}


@dataclass
class Measure:
    name: str
    seconds: float
    peak_mb: float
    files: int

    @property
    def rate(self) -> float:
        return self.files / self.seconds if self.seconds else float("inf")


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB, the largest process of the command)."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "start = time.perf_counter()\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "elapsed = time.perf_counter() - start\n"
        "print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    # Bytecode caches on, as on a user's machine: without them every run compiles jobs-lint anew.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [sys.executable, "-c", probe, *command], cwd=cwd, capture_output=True, text=True, check=True, env=env
    )
    seconds, peak = out.stdout.split()
    return float(seconds), float(peak)


def best_of(repeat: int, run: callable) -> tuple[float, float]:  # type: ignore[valid-type]
    samples = [run() for _ in range(repeat)]
    return statistics.median(s for s, _ in samples), max(p for _, p in samples)


def python_files(tree: Path) -> list[Path]:
    skip = {".git", ".venv", "venv", "node_modules", "__pycache__", ".jobs_lint_cache"}
    found = []
    for directory, subdirectories, files in os.walk(tree, followlinks=True):
        subdirectories[:] = [d for d in subdirectories if d not in skip]
        found.extend(Path(directory, f) for f in files if f.endswith(".py"))
    return found


def small_job_file(files: list[Path]) -> Path:
    """The pre-commit case: a small file that imports Celery."""
    candidates = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "from celery import" in text and 20 < len(text.splitlines()) < 120:
            candidates.append((len(text), path))
    return min(candidates)[1] if candidates else files[0]


def peer_env(name: str) -> Path:
    """A virtual environment with one peer linter in it, made once with uv."""
    env = HERE / ".envs" / name
    if not (env / "bin" / name).exists():
        uv = shutil.which("uv", path=str(BIN)) or "uv"
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(env)], check=True)
        python = str(env / "bin" / "python")
        subprocess.run([uv, "pip", "install", "-q", "--python", python, PEER_PACKAGES[name]], check=True)
    return env / "bin"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-slow", action="store_true", help="leave out bandit and Fixit")
    args = parser.parse_args()
    tree = args.tree.resolve()
    files = python_files(tree)
    count = len(files)
    lint = [str(BIN / "jobs-lint"), "check", "--exit-zero", "--statistics"]
    cache = Path(tempfile.mkdtemp(prefix="jobs-lint-bench-"))
    results = []

    def cold() -> tuple[float, float]:
        shutil.rmtree(cache, ignore_errors=True)
        return timed([*lint, "--cache-dir", str(cache), "."], tree)

    results.append(Measure("jobs-lint cold", *best_of(args.repeat, cold), count))
    warm = best_of(args.repeat, lambda: timed([*lint, "--cache-dir", str(cache), "."], tree))
    results.append(Measure("jobs-lint warm", *warm, count))

    target = small_job_file(files)
    original = target.read_bytes()

    def one_changed() -> tuple[float, float]:
        target.write_bytes(original + f"\n# edited {time.time()}\n".encode())
        try:
            return timed([*lint, "--cache-dir", str(cache), str(target)], tree)
        finally:
            target.write_bytes(original)

    results.append(Measure("jobs-lint one changed file", *best_of(args.repeat, one_changed), 1))
    ruff = shutil.which("ruff", path=str(BIN)) or shutil.which("ruff")
    if ruff:
        command = [ruff, "check", "--no-cache", "--exit-zero", "--preview", "--select", "S301,S403", "--quiet", "."]
        results.append(Measure("ruff (pickle rules)", *best_of(args.repeat, lambda: timed(command, tree)), count))
    if not args.skip_slow:
        bandit = [str(peer_env("bandit") / "bandit"), "-q", "-r", "-t", "B301,B403", "-f", "txt", "."]
        results.append(Measure("bandit (pickle tests)", *timed(bandit, tree), count))
        fixit = [str(peer_env("fixit") / "fixit"), "--rules", "fixit_pickle", "lint", "."]
        os.environ["PYTHONPATH"] = str(HERE / "peers")
        results.append(Measure("Fixit (one libcst rule)", *timed(fixit, tree), count))
    shutil.rmtree(cache, ignore_errors=True)

    base = results[0].seconds
    print(f"Tree: {tree} ({count} .py files); one file: {target.relative_to(tree)}")
    print(f"Machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; median of {args.repeat} runs")
    print(f"{'tool':<28} {'wall s':>8} {'files/s':>10} {'peak MB':>8} {'vs jobs-lint cold':>18}")
    for m in results:
        print(f"{m.name:<28} {m.seconds:>8.2f} {m.rate:>10.0f} {m.peak_mb:>8.0f} {m.seconds / base:>17.2f}x")


if __name__ == "__main__":
    main()
