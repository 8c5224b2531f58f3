"""`--diff`'s unified diff: the same text as difflib's, and a patch that turns one file into the other."""

from __future__ import annotations

import difflib
import random
import re

from jobs_lint.textdiff import unified_diff

_HUNK = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@\n")


def _patched(before: list[str], diff: list[str]) -> list[str]:
    """Apply a unified diff, checking every context and removed line against `before`."""
    out: list[str] = []
    position = 0
    for line in diff[2:]:
        hunk = _HUNK.fullmatch(line)
        if hunk:
            start, length = int(hunk.group(1)), int(hunk.group(2) or 1)
            begin = start - 1 if length else start
            out.extend(before[position:begin])
            position = begin
        elif line[0] in " -":
            assert before[position] == line[1:]
            position += 1
            if line[0] == " ":
                out.append(line[1:])
        else:
            out.append(line[1:])
    return out + before[position:]


def test_random_edits_round_trip() -> None:
    chance = random.Random(7)
    for _ in range(2000):
        before = [chance.choice("abcdef") + "\n" for _ in range(chance.randint(0, 30))]
        after = list(before)
        for _ in range(chance.randint(0, 5)):
            where = chance.randint(0, len(after))
            roll = chance.random()
            if roll < 0.3 and after:
                after[min(where, len(after) - 1)] = chance.choice("abcxyz") + "\n"
            elif roll < 0.6:
                after.insert(where, chance.choice("xyzab") + "\n")
            elif after:
                del after[min(where, len(after) - 1)]
        diff = list(unified_diff(before, after, "a/x.py", "b/x.py"))
        assert _patched(before, diff) == after
        assert (diff == []) == (before == after)


def test_same_text_as_difflib_for_a_typical_fix() -> None:
    before = [line for i in range(50) for line in (f"def task_{i}():\n", "    return data\n")]
    after = ["import json\n", *before]
    after[11] = "    return json.dumps(data)\n"
    ours = "".join(unified_diff(before, after, "a/x.py", "b/x.py"))
    assert ours == "".join(difflib.unified_diff(before, after, "a/x.py", "b/x.py"))
    assert ours.count("@@") == 4  # two hunks
