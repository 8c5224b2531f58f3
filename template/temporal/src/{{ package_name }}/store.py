"""The service's own records, as files under DATA_DIR: reservations, charges, shipments, a ledger
per order, reports and dead letters. Blocking I/O: activities call it through `asyncio.to_thread`.

Replace it with your database; keep the two properties activities rely on: `create` is
idempotent per key, and `append` records every attempt.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any


class Store:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, kind: str, key: str, suffix: str = ".json") -> Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"invalid record key {key!r}")
        return self.root / kind / f"{key}{suffix}"

    def create(self, kind: str, key: str, record: dict[str, Any]) -> bool:
        """Write the record unless one exists with that key; True if this call wrote it."""
        path = self._path(kind, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x") as file:
                json.dump(record, file)
        except FileExistsError:
            return False
        return True

    def read(self, kind: str, key: str) -> dict[str, Any] | None:
        path = self._path(kind, key)
        if not path.exists():
            return None
        data: dict[str, Any] = json.loads(path.read_text())
        return data

    def delete(self, kind: str, key: str) -> bool:
        path = self._path(kind, key)
        if not path.exists():
            return False
        path.unlink()
        return True

    def append(self, kind: str, key: str, line: str) -> None:
        path = self._path(kind, key, ".log")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as file:
            file.write(line + "\n")

    def lines(self, kind: str, key: str) -> list[str]:
        path = self._path(kind, key, ".log")
        return path.read_text().splitlines() if path.exists() else []

    def keys(self, kind: str) -> list[str]:
        folder = self.root / kind
        return sorted(path.stem for path in folder.glob("*.json")) if folder.is_dir() else []

    def delete_older_than(self, kind: str, seconds: float) -> int:
        folder = self.root / kind
        if not folder.is_dir():
            return 0
        cutoff = time.time() - seconds
        removed = 0
        for path in folder.glob("*.json"):
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        return removed

    def report_path(self, report_id: str, partial: bool = False) -> Path:
        return self._path("reports", report_id, ".partial" if partial else ".txt")

    def keep_sections(self, report_id: str, sections: int) -> None:
        """The partial report cut to its first `sections` lines (those a heartbeat recorded)."""
        path = self.report_path(report_id, partial=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        kept = path.read_text().splitlines()[:sections] if path.exists() else []
        path.write_text("".join(line + "\n" for line in kept))

    def add_section(self, report_id: str, line: str) -> None:
        with self.report_path(report_id, partial=True).open("a") as file:
            file.write(line + "\n")
            file.flush()
            os.fsync(file.fileno())

    def finish_report(self, report_id: str) -> Path:
        final = self.report_path(report_id)
        self.report_path(report_id, partial=True).replace(final)
        return final

    def discard_report(self, report_id: str) -> None:
        self.report_path(report_id, partial=True).unlink(missing_ok=True)

    def rebuild_report_index(self) -> int:
        folder = self.root / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        names = sorted(path.name for path in folder.glob("*.txt"))
        (folder / "index.json").write_text(json.dumps(names))
        return len(names)
