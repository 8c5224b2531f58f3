"""Copier migration: drop `priority` and `prefetch` from the queues of an ARQ project's answers.

Releases before v0.3.0 accepted both keys on ARQ queues, which ARQ has no use for; v0.3.0 refuses
them. On update Copier replaces a saved answer that fails validation with the question's default,
which would silently swap the project's queues for the template's. Run before the update, from
the project root, this removes the two keys so the queues (names, concurrency) pass and are kept.
Other tools' answers, and answers without the keys, are left untouched.

Usage: python migrate_arq_queue_keys.py ANSWERS_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

DROPPED_KEYS = ("priority", "prefetch")


def dropped_keys(answers: dict[str, Any]) -> list[str]:
    """Remove DROPPED_KEYS from each queue of an ARQ answers mapping; describe what went."""
    queues = answers.get("queues")
    if answers.get("tool") != "arq" or not isinstance(queues, list):
        return []
    removed = []
    for queue in queues:
        if not isinstance(queue, dict):
            continue
        gone = [key for key in DROPPED_KEYS if key in queue]
        for key in gone:
            del queue[key]
        if gone:
            removed.append(f"{queue.get('name')}: {', '.join(gone)}")
    return removed


def leading_comments(text: str) -> str:
    """The comment lines the answers file starts with (Copier's do-not-edit header)."""
    lines = text.splitlines(keepends=True)
    kept = []
    for line in lines:
        if not line.startswith("#"):
            break
        kept.append(line)
    return "".join(kept)


def main(answers_file: str) -> int:
    path = Path(answers_file)
    try:
        text = path.read_text(encoding="utf-8")
        answers = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        print(f"{answers_file}: cannot read the answers: {error}".replace("\n", " "), file=sys.stderr)
        return 1
    if not isinstance(answers, dict):
        print(f"{answers_file}: the answers are not a YAML mapping", file=sys.stderr)
        return 1
    removed = dropped_keys(answers)
    if not removed:
        return 0
    # Same mapping, same key order; only the two keys are gone from the queues.
    dumped = yaml.safe_dump(answers, sort_keys=False, allow_unicode=True, default_flow_style=False)
    path.write_text(leading_comments(text) + dumped, encoding="utf-8")
    print(f"ARQ queues have no priority or prefetch: removed {'; '.join(removed)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: migrate_arq_queue_keys.py ANSWERS_FILE")
    sys.exit(main(sys.argv[1]))
