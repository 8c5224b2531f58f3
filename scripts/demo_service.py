"""Render a Celery service with the default answers into build/demo-service and run its demo.

The rendered project's own `python -m <package>.demo` starts an embedded Redis (unless
REDIS_URL is set), a real worker, runs a few workflows and stops everything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

from copier import run_copy
from copier.errors import DirtyLocalWarning

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "build" / "demo-service"
PACKAGE = "jobs_service"


def uv() -> str:
    found = shutil.which(
        "uv", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if found is None:
        sys.exit("error: uv is not installed (make installs it into .venv)")
    return found


def main() -> int:
    started = time.monotonic()
    shutil.rmtree(TARGET, ignore_errors=True)
    # HEAD renders the working tree, uncommitted changes included (Copier warns about those).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DirtyLocalWarning)
        run_copy(str(ROOT), TARGET, defaults=True, quiet=True, vcs_ref="HEAD")
    print(f"rendered {TARGET.relative_to(ROOT)} in {time.monotonic() - started:.1f}s")

    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    python = TARGET / ".venv" / "bin" / "python"
    subprocess.run(
        [uv(), "venv", "-q", "--python", sys.executable, str(TARGET / ".venv")], check=True, env=env
    )
    subprocess.run(
        [uv(), "pip", "install", "-q", "--python", str(python), "-e", f"{TARGET}[embedded]"],
        check=True,
        env=env,
    )
    print(f"installed its virtualenv in {time.monotonic() - started:.1f}s")

    demo_env = {
        key: value for key, value in env.items() if key not in {"REDIS_URL", "CELERY_BROKER_URL"}
    }
    demo = subprocess.run(
        [str(python), "-m", f"{PACKAGE}.demo"], cwd=TARGET, env=demo_env, check=False
    )
    print(f"demo exited with {demo.returncode} after {time.monotonic() - started:.1f}s in total")
    return demo.returncode


if __name__ == "__main__":
    sys.exit(main())
