"""Traffic traces for training the model and measuring the guard: normal clients and peers, and
six attackers (docs/security.md "Measured"). A trace is a time-ordered list of observations;
`replay` feeds one to a client guard and a peer guard, ticking once a second, and reports who
was throttled or banned and how many honest requests were served.

The normal traffic is shaped on the gateway's and the transport's real callers: wallets that
submit a transfer every few seconds (now and then racing their own nonce or sending something
refused), load clients that submit batches many times a second, and validators whose frames
are mostly new transactions and consensus messages.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import constants
from .record import Observation, Section
from .score import Allowance, Guard, Kind, Model, Override, Verdict, features

# The gateway's allowance per client and the transport's per peer (api, net constants).
CLIENTS = Allowance(per_s=50, burst=100)
PEERS = Allowance(per_s=2_000, burst=4_000)
ATTACKS = ("flood", "bad_signatures", "oversize_frames", "nonce_spam", "slow_loris", "duplicates")


def _wallet(rng: random.Random, name: str, duration_ms: int) -> Iterator[Observation]:
    t = rng.randrange(0, 5_000)
    yield t, name, Kind.CONNECT, 0
    while t < duration_ms:
        size = rng.randrange(180, 420)
        yield t, name, Kind.REQUEST, size
        roll = rng.random()
        if roll < 0.02:
            yield t, name, Kind.NONCE, 0
        elif roll < 0.04:
            yield t, name, Kind.ERROR, 0
        else:
            yield t, name, Kind.DELIVERY, 0
        if rng.random() < 0.05:
            yield t, name, Kind.CONNECT, 0
        t += int(rng.expovariate(1 / rng.choice((500, 1_500, 4_000)))) + 1


def _steady(
    rng: random.Random,
    name: str,
    duration_ms: int,
    start_ms_max: int,
    rates: tuple[int, int],
    sizes: tuple[int, int],
) -> Iterator[Observation]:
    """A load client (batches many times a second) or a validator (frames of new transactions
    and consensus messages). Every validator gossips to every other, so many transactions
    arrive twice, but never twice from the same peer: a peer's own repeats are the duplicates
    scored."""
    t = rng.randrange(0, start_ms_max)
    yield t, name, Kind.CONNECT, 0
    per_s = rng.randrange(*rates)
    while t < duration_ms:
        yield t, name, Kind.REQUEST, rng.randrange(*sizes)
        yield t, name, Kind.DELIVERY, 0
        t += int(rng.expovariate(per_s / 1000)) + 1


def _attacker(
    rng: random.Random, attack: str, name: str, duration_ms: int
) -> Iterator[Observation]:
    t = rng.randrange(0, 5_000)
    while t < duration_ms:
        if attack == "flood":
            yield t, name, Kind.REQUEST, rng.randrange(100, 400)
            t += rng.randrange(1, 5)
        elif attack == "bad_signatures":
            yield t, name, Kind.REQUEST, rng.randrange(180, 420)
            yield t, name, Kind.BAD_SIGNATURE, 0
            t += rng.randrange(20, 120)
        elif attack == "oversize_frames":
            yield t, name, Kind.REQUEST, 8 << 20
            yield t, name, Kind.OVERSIZE, 0
            t += rng.randrange(100, 400)
        elif attack == "nonce_spam":
            yield t, name, Kind.REQUEST, rng.randrange(180, 420)
            yield t, name, Kind.NONCE, 0
            t += rng.randrange(20, 80)
        elif attack == "slow_loris":
            yield t, name, Kind.CONNECT, 0
            yield t, name, Kind.SLOW, 0
            t += rng.randrange(200, 800)
        else:  # duplicates: a peer that replays what it gossiped already
            yield t, name, Kind.REQUEST, rng.randrange(2_000, 50_000)
            yield t, name, Kind.DUPLICATE, 0
            t += rng.randrange(2, 10)


def is_peer(subject: str) -> bool:
    return subject.startswith("peer:")


def normal(
    seed: int, duration_ms: int, wallets: int = 40, loaders: int = 3, validators: int = 6
) -> list[Observation]:
    rng = random.Random(seed)
    found: list[Observation] = []
    for index in range(wallets):
        found += _wallet(rng, f"client:wallet-{seed}-{index}", duration_ms)
    for index in range(loaders):
        name = f"client:loader-{seed}-{index}"
        found += _steady(rng, name, duration_ms, 1_000, (5, 30), (50_000, 400_000))
    for index in range(validators):
        name = f"peer:validator-{seed}-{index}"
        found += _steady(rng, name, duration_ms, 200, (50, 600), (100, 200_000))
    return sorted(found, key=lambda item: (item[0], item[1], item[2]))


def attacks(seed: int, duration_ms: int, each: int = 1) -> list[Observation]:
    rng = random.Random(seed)
    found: list[Observation] = []
    for attack in ATTACKS:
        kind = "peer" if attack in ("oversize_frames", "duplicates") else "client"
        for index in range(each):
            found += _attacker(rng, attack, f"{kind}:attack-{attack}-{index}", duration_ms)
    return sorted(found, key=lambda item: (item[0], item[1], item[2]))


def training_rows(seed: int, duration_ms: int) -> tuple[list[list[float]], list[list[float]]]:
    """Feature rows of normal traffic, sampled each second: (clients, peers)."""
    clients, peers = Guard(CLIENTS, None), Guard(PEERS, None)
    rows: tuple[list[list[float]], list[list[float]]] = ([], [])
    # More validators than a network has: the model must know the whole range of their rates.
    trace = normal(seed, duration_ms, wallets=60, loaders=6, validators=30)
    for now_ms, batch in _seconds(trace):
        for _, subject, kind, size in batch:
            (peers if is_peer(subject) else clients).observe(subject, kind, now_ms, size)
        for guard, out in ((clients, rows[0]), (peers, rows[1])):
            guard.tick(now_ms)
            # Only full windows: a subject's first seconds are no sample of its rate.
            out += [
                features(entry, now_ms)
                for entry in guard.subjects.values()
                if now_ms - entry.first_ms >= constants.window_s * constants.bucket_ms
            ]
    return rows


# Feature rows of a minute of normal traffic, recorded by `bench/security.py --record`: a
# node fits its models on them in a fraction of a second, where replaying the minute takes
# many seconds of CPU.
RECORDED = Path(__file__).with_name("normal_rows.json")
recorded_rows_max = 1_500  # per kind, evenly spaced over the minute


def record(seed: int = 0, duration_ms: int = 60_000) -> None:
    client_rows, peer_rows = training_rows(seed, duration_ms)
    kept = {
        "clients": _spaced(client_rows, recorded_rows_max),
        "peers": _spaced(peer_rows, recorded_rows_max),
    }
    RECORDED.write_text(json.dumps(kept, separators=(",", ":")) + "\n")


def models(seed: int = 0) -> tuple[Model, Model]:
    """The client and peer models, fitted on the recorded rows."""
    # scikit-learn takes seconds to import: only a node that turns the model on pays for it.
    from .model import Forest  # noqa: PLC0415

    kept = json.loads(RECORDED.read_text())
    return Forest(kept["clients"], seed), Forest(kept["peers"], seed)


def _spaced(rows: list[list[float]], count: int) -> list[list[float]]:
    step = max(1, len(rows) // count)
    return [[round(value, 3) for value in row] for row in rows[::step][:count]]


@dataclass(frozen=True, slots=True)
class Outcome:
    detected: frozenset[str]  # throttled or banned at some point
    banned: frozenset[str]
    served: dict[str, int]  # requests served, by subject

    def honest_served(self, honest: set[str]) -> int:
        return sum(count for name, count in self.served.items() if name in honest)


def replay(trace: list[Observation], clients: Guard, peers: Guard) -> Outcome:
    detected: set[str] = set()
    banned: set[str] = set()
    served: dict[str, int] = {}
    for now_ms, batch in _seconds(trace):
        for t, subject, kind, size in batch:
            guard = peers if is_peer(subject) else clients
            verdict = guard.observe(subject, kind, t, size)
            if kind is Kind.REQUEST and verdict is Verdict.PASS:
                served[subject] = served.get(subject, 0) + 1
            if verdict is not Verdict.PASS:
                detected.add(subject)
            if verdict is Verdict.BAN:
                banned.add(subject)
        for guard in (clients, peers):
            guard.tick(now_ms)
            for status in guard.status(now_ms):
                if status.verdict is not Verdict.PASS:
                    detected.add(status.subject)
                if status.verdict is Verdict.BAN:
                    banned.add(status.subject)
    return Outcome(frozenset(detected), frozenset(banned), served)


def replay_recorded(
    sections: list[Section], attacks: list[Observation], models: tuple[Model, Model]
) -> Outcome:
    """Each node's recorded view (guard/record.py) with `attacks` mixed in, replayed into a
    client and a peer guard set up as that node's were (its allowance, its allowed subjects):
    a subject counts as detected or banned when any node's guard throttled or banned it."""
    detected: set[str] = set()
    banned: set[str] = set()
    served: dict[str, int] = {}
    for section in sections:
        clients, peers = Guard(section.client_allowance, models[0]), Guard(PEERS, models[1])
        for subject in section.allowed:
            (peers if is_peer(subject) else clients).override(subject, Override.ALLOW, 0)
        mixed = sorted(section.observations + attacks, key=lambda item: item[:3])
        outcome = replay(mixed, clients, peers)
        detected |= outcome.detected
        banned |= outcome.banned
        for subject, count in outcome.served.items():
            served[subject] = served.get(subject, 0) + count
    return Outcome(frozenset(detected), frozenset(banned), served)


def _seconds(trace: list[Observation]) -> Iterator[tuple[int, list[Observation]]]:
    """The trace cut at each second, with the millisecond the second ends."""
    batch: list[Observation] = []
    end = constants.bucket_ms
    for item in trace:
        while item[0] >= end:
            yield end, batch
            batch = []
            end += constants.bucket_ms
        batch.append(item)
    yield end, batch
