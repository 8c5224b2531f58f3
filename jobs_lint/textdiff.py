"""Unified diffs for `--diff`, in time near-linear in the file's size.

`difflib.unified_diff` compares whole files with `SequenceMatcher`, which is quadratic on long
files with many equal lines (a generated module of 8,000 tasks took minutes). Here lines common
to both ends are skipped, lines that occur once in each file anchor the rest (the patience diff
idea, the anchors being the longest increasing run of their positions), and only the short gaps
between anchors go through `SequenceMatcher`. Its output format is difflib's.
"""

from __future__ import annotations

import bisect
import difflib
from collections import Counter
from collections.abc import Iterator

_SMALL = 40_000  # a gap with at most this many line pairs is compared line by line


def unified_diff(before: list[str], after: list[str], from_file: str, to_file: str, context: int = 3) -> Iterator[str]:
    if before == after:
        return
    matcher = _Anchored(before, after)
    yield f"--- {from_file}\n"
    yield f"+++ {to_file}\n"
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in before[i1:i2])
                continue
            yield from ("-" + line for line in before[i1:i2])
            yield from ("+" + line for line in after[j1:j2])


class _Anchored(difflib.SequenceMatcher[str]):
    """difflib's opcodes and groups, from our matching blocks instead of its own (slow) ones."""

    def __init__(self, a: list[str], b: list[str]) -> None:
        super().__init__(None, a, b, autojunk=False)
        self._blocks = [*_matches(a, b), difflib.Match(len(a), len(b), 0)]

    def get_matching_blocks(self) -> list[difflib.Match]:
        return self._blocks


def _range(start: int, stop: int) -> str:
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start + 1 if length else start},{length}"


def _matches(a: list[str], b: list[str]) -> list[difflib.Match]:
    """Matching blocks of `a` and `b` (sorted, adjacent ones merged), without the sentinel."""
    found: list[tuple[int, int, int]] = []
    _match_range(a, b, 0, len(a), 0, len(b), found)
    merged: list[difflib.Match] = []
    for i, j, size in found:
        if merged and merged[-1].a + merged[-1].size == i and merged[-1].b + merged[-1].size == j:
            merged[-1] = difflib.Match(merged[-1].a, merged[-1].b, merged[-1].size + size)
        elif size:
            merged.append(difflib.Match(i, j, size))
    return merged


def _match_range(
    a: list[str], b: list[str], a_lo: int, a_hi: int, b_lo: int, b_hi: int, found: list[tuple[int, int, int]]
) -> None:
    prefix = 0
    while a_lo + prefix < a_hi and b_lo + prefix < b_hi and a[a_lo + prefix] == b[b_lo + prefix]:
        prefix += 1
    suffix = 0
    while (
        a_hi - suffix > a_lo + prefix and b_hi - suffix > b_lo + prefix and a[a_hi - suffix - 1] == b[b_hi - suffix - 1]
    ):
        suffix += 1
    found.append((a_lo, b_lo, prefix))
    middle = (a_lo + prefix, a_hi - suffix, b_lo + prefix, b_hi - suffix)
    anchors = _anchors(a, b, *middle)
    if anchors:
        i_lo, j_lo = middle[0], middle[2]
        for i, j in anchors:
            _match_range(a, b, i_lo, i, j_lo, j, found)
            found.append((i, j, 1))
            i_lo, j_lo = i + 1, j + 1
        _match_range(a, b, i_lo, middle[1], j_lo, middle[3], found)
    elif (middle[1] - middle[0]) * (middle[3] - middle[2]) <= _SMALL:
        matcher = difflib.SequenceMatcher(None, a[middle[0] : middle[1]], b[middle[2] : middle[3]], autojunk=False)
        found.extend((middle[0] + i, middle[2] + j, size) for i, j, size in matcher.get_matching_blocks())
    # else: a long stretch with no line unique to it on both sides, shown as replaced
    found.append((a_hi - suffix, b_hi - suffix, suffix))


def _anchors(a: list[str], b: list[str], a_lo: int, a_hi: int, b_lo: int, b_hi: int) -> list[tuple[int, int]]:
    """Lines that occur once in each range, as (i, j), the longest run increasing in both."""
    in_a = Counter(a[a_lo:a_hi])
    in_b = Counter(b[b_lo:b_hi])
    where_b = {b[j]: j for j in range(b_lo, b_hi) if in_b[b[j]] == 1 and in_a[b[j]] == 1}
    pairs = [(i, where_b[a[i]]) for i in range(a_lo, a_hi) if a[i] in where_b]
    # Longest increasing subsequence of the j's (patience sorting), O(k log k).
    tails: list[int] = []  # tails[n]: the smallest last j of an increasing run of length n + 1
    tail_at: list[int] = []  # ... and the index in `pairs` it is at
    previous = [-1] * len(pairs)
    for position, (_, j) in enumerate(pairs):
        length = bisect.bisect_left(tails, j)
        if length == len(tails):
            tails.append(j)
            tail_at.append(position)
        else:
            tails[length] = j
            tail_at[length] = position
        previous[position] = tail_at[length - 1] if length else -1
    run: list[tuple[int, int]] = []
    position = tail_at[-1] if tail_at else -1
    while position >= 0:
        run.append(pairs[position])
        position = previous[position]
    return run[::-1]
