"""Peer scoring and flood control, pure: the transport asks, this decides.

Each peer starts at `score_start`; malformed, oversize, unknown or flooding input costs points,
and at `score_min` the peer is disconnected and refused for `ban_ms`. Flooding is measured by a
token bucket refilled at `frames_per_second_max` up to `frames_burst_max`. Times are the
caller's monotonic milliseconds, so tests drive this without a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metanode.types import Address

from . import constants


@dataclass(slots=True)
class PeerScore:
    score: int = constants.score_start
    tokens: int = constants.frames_burst_max
    refilled_ms: int = 0
    banned_until_ms: int = 0
    offences: dict[str, int] = field(default_factory=dict)


class Scores:
    def __init__(self) -> None:
        self._peers: dict[Address, PeerScore] = {}

    def of(self, peer: Address) -> PeerScore:
        return self._peers.setdefault(peer, PeerScore())

    def is_banned(self, peer: Address, now_ms: int) -> bool:
        return self.of(peer).banned_until_ms > now_ms

    def penalize(self, peer: Address, points: int, reason: str, now_ms: int) -> bool:
        """Charge an offence; True when the peer must now be disconnected (and is banned)."""
        entry = self.of(peer)
        entry.offences[reason] = entry.offences.get(reason, 0) + 1
        entry.score -= points
        if entry.score > constants.score_min:
            return False
        entry.banned_until_ms = now_ms + constants.ban_ms
        entry.score = constants.score_start  # a fresh start once the ban ends
        return True

    def take_token(self, peer: Address, now_ms: int) -> bool:
        """One frame's worth of rate; False when the peer is over its rate."""
        entry = self.of(peer)
        elapsed = max(0, now_ms - entry.refilled_ms)
        refill = elapsed * constants.frames_per_second_max // 1000
        if refill:
            entry.tokens = min(constants.frames_burst_max, entry.tokens + refill)
            entry.refilled_ms = now_ms
        if entry.tokens == 0:
            return False
        entry.tokens -= 1
        return True

    def snapshot(self) -> dict[str, dict[str, object]]:
        return {
            str(peer): {"score": entry.score, "offences": dict(sorted(entry.offences.items()))}
            for peer, entry in sorted(self._peers.items())
        }
