"""The bisection game's arithmetic, pure: where a range is split, and what range a turn leaves.

A range lo..hi (calls, inclusive) of n = hi − lo + 1 calls is split by k points into
s = min(k + 1, n) segments of ⌊n/s⌋ or ⌈n/s⌉ calls: point j (1 ≤ j < s) is the state after
call lo − 1 + ⌊j·n/s⌋. A point is a root after a call inside lo..hi − 1, so both ends stay
the range's: the agreed root before lo and the disputed roots after hi.

A turn answers the other side's roots at those points with its own. The first point where
they differ ends the new range (the segment before it starts where both still agreed); if they
agree at every point, the last segment is left, whose end is still disputed. Either way the
new range has at most ⌈n/s⌉ calls, so k = 1 halves it: n calls take ⌈log2 n⌉ answering turns,
plus the defender's first turn, which only posts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def points(lo: int, hi: int, k: int) -> tuple[int, ...]:
    """The calls after which a turn posts roots; none once one call is left."""
    n = hi - lo + 1
    segments = min(k + 1, n)
    return tuple(lo - 1 + j * n // segments for j in range(1, segments))


@dataclass(frozen=True, slots=True)
class Narrowed:
    lo: int
    hi: int
    agreed_root: bytes
    posts: tuple[bytes, bytes]  # by side, after hi


def narrow(
    lo: int,
    hi: int,
    agreed_root: bytes,
    posts: tuple[bytes, bytes],
    at: Sequence[int],
    roots: tuple[Sequence[bytes], Sequence[bytes]],
) -> Narrowed:
    """The range left when side 0 holds `roots[0]` and side 1 `roots[1]` at the points `at`."""
    start, before = lo, agreed_root
    for point, mine, theirs in zip(at, roots[0], roots[1], strict=True):
        if mine != theirs:
            return Narrowed(start, point, before, (mine, theirs))
        start, before = point + 1, mine
    return Narrowed(start, hi, before, posts)
