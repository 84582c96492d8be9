"""Per-subject features over sliding windows, a gossipsub-v1.1-style rule score, the learned
model's verdicts, and the throttles and decaying bans they lead to. Pure: the gateway and the
transport report what they see (`observe`) and ask what to do (`verdict`); time is the
caller's monotonic milliseconds, so tests and the bench replay traces without a clock.

Theory of operation. A subject is a peer (`peer:<node id>`) or a client (`client:<address>`).
Each observation lands in a one-second bucket (the features of the last `window_s` seconds are
read from them) and, when it is an offence, in a decayed counter of the rule score:

    score = P1 + P2 + P4 + P5 + P7 + anomaly
    P1 = p1_weight · min(seconds known, p1_cap_s)          time known        (positive)
    P2 = p2_weight · min(deliveries, p2_cap)               useful deliveries (positive)
    P4 = p4_weight · invalid²                              invalid messages
    P5 = p5_allow for an operator's allow, else 0          application specific
    P7 = p7_weight · max(0, behaviour − p7_threshold)²     behaviour penalty
    anomaly = anomaly_weight · min(model hits, anomaly_cap) the learned model

(gossipsub's P3, mesh delivery deficits, and P6, IP colocation, have no counterpart: every
validator links to every other, and a client subject is its address already.) Once a second
`tick` decays the counters and asks the model about every subject active in the window.
Below `throttle_threshold` a subject gets `throttle_share_percent` of its allowance; below
`ban_threshold` it is banned for `ban_base_ms`, doubled for each strike it still carries, and
starts afresh when the ban ends.
"""

from __future__ import annotations

import collections
import enum
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from . import constants


class Kind(enum.IntEnum):
    REQUEST = 0  # a request or a frame; `size` its bytes
    DELIVERY = 1  # something useful: an admitted transaction, a new frame
    ERROR = 2  # a refused request of no other kind below
    BAD_SIGNATURE = 3
    OVERSIZE = 4  # an oversize or malformed body or frame
    DUPLICATE = 5  # the subject repeats what it sent already
    NONCE = 6  # refused for a nonce already used or too far ahead
    CONNECT = 7
    SLOW = 8  # a request that timed out half sent


class Verdict(enum.StrEnum):
    PASS = "pass"
    THROTTLE = "throttle"
    BAN = "ban"


class Override(enum.StrEnum):
    ALLOW = "allow"  # never throttled or banned, whatever its score
    BAN = "ban"  # banned for ban_max_ms now
    PARDON = "pardon"  # ban, counters and strikes cleared
    CLEAR = "clear"  # an allow withdrawn


FEATURES = (
    "requests_per_s",
    "bytes_per_request_log2",
    "errors_per_s",
    "bad_signatures_per_s",
    "oversize_per_s",
    "duplicates_per_s",
    "nonce_refusals_per_s",
    "connects_per_s",
    "slow_per_s",
    "delivered_share",
)
_kinds = len(Kind)


class Model(Protocol):
    def anomalous(self, rows: Sequence[Sequence[float]]) -> list[bool]: ...


@dataclass(frozen=True, slots=True)
class Allowance:
    """Requests (or frames) per second a subject may send, and its burst."""

    per_s: int
    burst: int


@dataclass(slots=True)
class Subject:
    first_ms: int
    last_ms: int
    tokens: float
    refilled_ms: int
    decayed_ms: int
    # (bucket index, counts by Kind, bytes)
    buckets: collections.deque[tuple[int, list[int], int]] = field(
        default_factory=lambda: collections.deque(maxlen=constants.window_s)
    )
    deliveries: float = 0.0
    invalid: float = 0.0
    behaviour: float = 0.0
    anomaly: float = 0.0
    banned_until_ms: int = 0
    strikes: int = 0
    struck_ms: int = 0
    allowed: bool = False
    bans: int = 0


@dataclass(frozen=True, slots=True)
class Status:
    subject: str
    score: float
    verdict: Verdict
    banned_for_ms: int
    strikes: int
    allowed: bool
    features: dict[str, float]


BanHandler = Callable[[str, int], None]


class Guard:
    """The scores of one node's peers or clients (one Guard per kind: their allowances differ)."""

    def __init__(
        self, allowance: Allowance, model: Model | None, on_ban: BanHandler | None = None
    ) -> None:
        self.allowance = allowance
        self.model = model
        self.on_ban = on_ban
        self.subjects: dict[str, Subject] = {}
        self.throttled = 0  # requests or frames refused by a throttle or a ban, for metrics
        self.banned_total = 0

    # What the edge reports ----------------------------------------------------------------

    def observe(self, subject: str, kind: Kind, now_ms: int, size: int = 0) -> Verdict:
        """Record one observation; for a REQUEST, whether to serve it."""
        entry = self._entry(subject, now_ms)
        self._count(entry, kind, now_ms, size)
        if kind is Kind.DELIVERY:
            entry.deliveries += 1
        elif kind in (Kind.BAD_SIGNATURE, Kind.OVERSIZE):
            entry.invalid += 1
        elif kind is Kind.DUPLICATE:
            entry.behaviour += 1
        elif kind is Kind.SLOW:
            entry.behaviour += constants.slow_units
        elif kind in (Kind.NONCE, Kind.CONNECT, Kind.ERROR):
            entry.behaviour += self._over_allowance(entry, kind)
        verdict = self.verdict(subject, now_ms)
        if verdict is Verdict.BAN:
            self.throttled += kind is Kind.REQUEST
            return Verdict.BAN
        if kind is not Kind.REQUEST or entry.allowed:
            return verdict
        if not self._take_token(entry, now_ms, throttled=verdict is Verdict.THROTTLE):
            self.throttled += 1
            return Verdict.THROTTLE
        return Verdict.PASS

    def observe_deliveries(self, subject: str, count: int, now_ms: int) -> Verdict:
        """`observe(subject, DELIVERY, now_ms)` `count` times, the same subject and verdicts
        after: a client's batch of admitted transactions is reported at once (one observation
        a transaction was ≈ 2% of a lone validator's loop at 12,000 a second). Exact because
        after the first observation the rest cannot move the verdict's side effects: a
        delivery only raises the score (no ban can start), a ban in force stays, and the
        entry is made and decayed once, at the first."""
        verdict = self.observe(subject, Kind.DELIVERY, now_ms)
        if count > 1:
            entry = self.subjects[subject]
            self._count(entry, Kind.DELIVERY, now_ms, 0, count - 1)
            deliveries = entry.deliveries
            for _ in range(count - 1):  # one by one: a decayed float, summed as the loop would
                deliveries += 1
            entry.deliveries = deliveries
            verdict = self.verdict(subject, now_ms)
        return verdict

    def tick(self, now_ms: int) -> None:
        """Once a second: decay, ask the model, forget the long quiet."""
        active: list[tuple[str, Subject]] = []
        for name in sorted(self.subjects):
            entry = self.subjects[name]
            self._decay(entry, now_ms)
            # An operator's allow is kept however quiet its subject: forgetting it would
            # throttle the allowed address (the loopback of `[guard] allow`) at its next burst.
            if (
                not entry.allowed
                and entry.banned_until_ms <= now_ms
                and now_ms - entry.last_ms > constants.idle_forget_ms
            ):
                del self.subjects[name]
            elif entry.banned_until_ms <= now_ms and now_ms - entry.last_ms <= (
                constants.window_s * constants.bucket_ms
            ):
                active.append((name, entry))
        if self.model is not None and active:
            rows = [features(entry, now_ms) for _, entry in active]
            for (name, entry), hit in zip(active, self.model.anomalous(rows), strict=True):
                if hit:
                    entry.anomaly = min(constants.anomaly_cap, entry.anomaly + 1)
                self.verdict(name, now_ms)

    def override(self, subject: str, action: Override, now_ms: int) -> None:
        """An operator's word on a subject (docs/security.md "Operator override")."""
        entry = self._entry(subject, now_ms)
        if action is Override.ALLOW:
            entry.allowed = True
            entry.banned_until_ms = 0
        elif action is Override.CLEAR:
            entry.allowed = False
        elif action is Override.BAN:
            entry.allowed = False
            self._ban(subject, entry, now_ms, constants.ban_max_ms)
        else:
            entry.banned_until_ms = entry.strikes = 0
            entry.invalid = entry.behaviour = entry.anomaly = 0.0
            entry.tokens = float(self.allowance.burst)

    # What the edge asks --------------------------------------------------------------------

    def score(self, subject: str, now_ms: int) -> float:
        entry = self.subjects.get(subject)
        return 0.0 if entry is None else _score(entry, now_ms)

    def verdict(self, subject: str, now_ms: int) -> Verdict:
        entry = self.subjects.get(subject)
        if entry is None or entry.allowed:
            return Verdict.PASS
        if entry.banned_until_ms > now_ms:
            return Verdict.BAN
        score = _score(entry, now_ms)
        if score < constants.ban_threshold:
            self._ban(subject, entry, now_ms, _ban_ms(entry))
            return Verdict.BAN
        return Verdict.THROTTLE if score < constants.throttle_threshold else Verdict.PASS

    def banned(self, subject: str, now_ms: int) -> bool:
        entry = self.subjects.get(subject)
        return entry is not None and entry.banned_until_ms > now_ms

    def status(self, now_ms: int) -> list[Status]:
        return [
            Status(
                subject=name,
                score=round(_score(entry, now_ms), 3),
                verdict=self.verdict(name, now_ms),
                banned_for_ms=max(0, entry.banned_until_ms - now_ms),
                strikes=entry.strikes,
                allowed=entry.allowed,
                features=dict(zip(FEATURES, features(entry, now_ms), strict=True)),
            )
            for name, entry in sorted(self.subjects.items())
        ]

    # Inside --------------------------------------------------------------------------------

    def _entry(self, subject: str, now_ms: int) -> Subject:
        entry = self.subjects.get(subject)
        if entry is None:
            if len(self.subjects) >= constants.subjects_max:
                self._forget_one(now_ms)
            entry = Subject(now_ms, now_ms, float(self.allowance.burst), now_ms, now_ms)
            self.subjects[subject] = entry
        self._decay(entry, now_ms)
        entry.last_ms = max(entry.last_ms, now_ms)
        return entry

    def _forget_one(self, now_ms: int) -> None:
        unbanned = [
            (entry.last_ms, name)
            for name, entry in self.subjects.items()
            if entry.banned_until_ms <= now_ms
        ]
        # All banned: the one whose ban ends first goes, so the table stays bounded.
        victim = (
            min(unbanned)[1]
            if unbanned
            else min((entry.banned_until_ms, name) for name, entry in self.subjects.items())[1]
        )
        del self.subjects[victim]

    def _count(self, entry: Subject, kind: Kind, now_ms: int, size: int, times: int = 1) -> None:
        index = now_ms // constants.bucket_ms
        if not entry.buckets or entry.buckets[-1][0] != index:
            entry.buckets.append((index, [0] * _kinds, 0))
        bucket_index, counts, size_sum = entry.buckets[-1]
        counts[kind] += times
        if size:
            entry.buckets[-1] = (bucket_index, counts, size_sum + size)

    def _over_allowance(self, entry: Subject, kind: Kind) -> float:
        allowance = {
            Kind.NONCE: constants.nonce_allowance_per_s,
            Kind.CONNECT: constants.connects_allowance_per_s,
            Kind.ERROR: constants.errors_allowance_per_s,
        }[kind]
        this_second = entry.buckets[-1][1][kind]
        return 1.0 if this_second > allowance else 0.0

    def _take_token(self, entry: Subject, now_ms: int, *, throttled: bool) -> bool:
        per_s = self.allowance.per_s
        burst = self.allowance.burst
        if throttled:
            per_s = max(1, per_s * constants.throttle_share_percent // 100)
            burst = max(1, burst * constants.throttle_share_percent // 100)
        elapsed = max(0, now_ms - entry.refilled_ms)
        entry.tokens = min(float(burst), entry.tokens + elapsed * per_s / 1000)
        entry.refilled_ms = max(entry.refilled_ms, now_ms)
        if entry.tokens < 1:
            # Past the allowance is behaviour the score counts, not only a refusal.
            entry.behaviour += 1 / math.sqrt(per_s)
            return False
        entry.tokens -= 1
        return True

    def _decay(self, entry: Subject, now_ms: int) -> None:
        seconds = (now_ms - entry.decayed_ms) // constants.bucket_ms
        if seconds <= 0:
            return
        factor = constants.decay**seconds
        entry.deliveries *= factor
        entry.invalid *= factor
        entry.behaviour *= factor
        entry.anomaly *= factor
        entry.decayed_ms += seconds * constants.bucket_ms
        if entry.strikes and now_ms - entry.struck_ms >= constants.strike_decay_ms:
            entry.strikes -= 1
            entry.struck_ms = now_ms

    def _ban(self, subject: str, entry: Subject, now_ms: int, ban_ms: int) -> None:
        entry.banned_until_ms = now_ms + ban_ms
        entry.strikes += 1
        entry.struck_ms = now_ms
        entry.bans += 1
        # A fresh start once the ban ends: the counters that led to it are spent.
        entry.invalid = entry.behaviour = entry.anomaly = entry.deliveries = 0.0
        entry.first_ms = entry.banned_until_ms
        self.banned_total += 1
        if self.on_ban is not None:
            self.on_ban(subject, ban_ms)


def _ban_ms(entry: Subject) -> int:
    return min(constants.ban_max_ms, constants.ban_base_ms << min(entry.strikes, 20))


def _score(entry: Subject, now_ms: int) -> float:
    known_s = max(0, now_ms - entry.first_ms) / 1000
    p1 = constants.p1_weight * min(known_s, constants.p1_cap_s)
    p2 = constants.p2_weight * min(entry.deliveries, constants.p2_cap)
    p4 = constants.p4_weight * entry.invalid**2
    p5 = constants.p5_allow if entry.allowed else 0.0
    p7 = constants.p7_weight * max(0.0, entry.behaviour - constants.p7_threshold) ** 2
    anomaly = constants.anomaly_weight * min(entry.anomaly, constants.anomaly_cap)
    return p1 + p2 + p4 + p5 + p7 + anomaly


def features(entry: Subject, now_ms: int) -> list[float]:
    """The subject's feature vector over the window ending at `now_ms` (FEATURES order)."""
    first = now_ms // constants.bucket_ms - constants.window_s + 1
    counts = [0] * _kinds
    size_sum = 0
    for index, bucket, size in entry.buckets:
        if index >= first:
            counts = [a + b for a, b in zip(counts, bucket, strict=True)]
            size_sum += size
    window = float(constants.window_s)
    requests = counts[Kind.REQUEST]
    return [
        requests / window,
        math.log2(1 + size_sum / requests) if requests else 0.0,
        counts[Kind.ERROR] / window,
        counts[Kind.BAD_SIGNATURE] / window,
        counts[Kind.OVERSIZE] / window,
        counts[Kind.DUPLICATE] / window,
        counts[Kind.NONCE] / window,
        counts[Kind.CONNECT] / window,
        counts[Kind.SLOW] / window,
        min(1.0, counts[Kind.DELIVERY] / requests) if requests else 0.0,
    ]
