"""Copier migration: stop an update whose saved package name or slug is longer than 40 characters.

Releases before v0.4.0 accepted any length; v0.4.0 refuses more than 40 characters, so that every
rendered line stays within the project's line length and Kubernetes names within 63. On update
Copier replaces a saved answer that fails validation with the question's default, which would
rename the project's package and its deploy files to the template's default names. Run before
the update, from the project root, this stops it first and says what to do instead.

Usage: python check_name_lengths.py ANSWERS_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

LONGEST = 40
CHECKED = ("package_name", "project_slug")


def too_long(answers: dict[str, object]) -> list[str]:
    """The checked answers over LONGEST characters, described."""
    return [
        f"{name} {value!r} has {len(value)}"
        for name in CHECKED
        if isinstance(value := answers.get(name), str) and len(value) > LONGEST
    ]


def main(answers_file: str) -> int:
    try:
        answers = yaml.safe_load(Path(answers_file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        print(f"{answers_file}: cannot read the answers: {error}".replace("\n", " "), file=sys.stderr)
        return 1
    if not isinstance(answers, dict):
        print(f"{answers_file}: the answers are not a YAML mapping", file=sys.stderr)
        return 1
    found = too_long(answers)
    if not found:
        return 0
    print(
        f"this release takes names of at most {LONGEST} characters and {'; '.join(found)}: the update"
        f" would rename the package to the default, so it stops here; to update, shorten the name in"
        f" {answers_file} (the package and its files move to the new name), or stay on this release",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_name_lengths.py ANSWERS_FILE")
    sys.exit(main(sys.argv[1]))
