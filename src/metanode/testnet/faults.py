"""The fault schedule of `metanode testnet --netns`: from a seed, the same scenarios in the same
order every time, so a failing run is replayed by its seed (docs/testnet.md).

Each scenario is one fault held for a while and then healed:
- `partition-minority`: f hosts cut off from the rest (the rest keep a quorum: liveness goes on);
- `partition-majority`: the hosts split into halves, neither with a quorum: liveness stops,
  safety must hold, and it comes back after the heal;
- `partition-bridge`: two groups that reach each other only through one bridge host;
- `latency`: one host's link delayed with jitter (netem, or the NFQUEUE delayer);
- `loss`: one host's link dropping packets (netem, or an iptables statistic drop);
- `clock-skew`: one host restarted with its wall clock moved (libfaketime);
- `kill`: one host killed with SIGKILL and restarted at the heal;
- `pause`: one host stopped with SIGSTOP and continued at the heal, its messages stale.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

KINDS = (
    "partition-minority",
    "partition-majority",
    "partition-bridge",
    "latency",
    "loss",
    "clock-skew",
    "kill",
    "pause",
)
# Faults that shape a link (netem, or iptables where the kernel has no netem).
SHAPED = frozenset({"latency", "loss"})
HOLD_S = (4.0, 10.0)  # how long a fault is held, drawn in this range
SKEW_S = (5, 120)  # clock skew, either way
DELAY_MS = (100, 800)
LOSS_PERCENT = (5, 40)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    groups: tuple[tuple[int, ...], ...]  # partitions: the sides; others: ((host,),)
    hold_s: float
    amount: int  # skew seconds (signed), delay ms or loss percent; 0 for the rest
    seed: int = 0  # latency: the delayer's draws of each packet's delay

    @property
    def stops_liveness(self) -> bool:
        """Whether no side keeps a quorum while the fault holds."""
        return self.kind == "partition-majority"

    def describe(self) -> str:
        sides = " | ".join(",".join(f"v{host}" for host in group) for group in self.groups)
        amount = f" {self.amount}" if self.amount else ""
        return f"{self.kind} {sides}{amount} for {self.hold_s:.1f} s"


def schedule(seed: int, count: int, hosts: int, kinds: tuple[str, ...] = KINDS) -> list[Fault]:
    """`count` faults over `hosts` validators (at least 4: a partition needs f ≥ 1), drawn
    from `kinds` in turn (every kind appears once `count` ≥ len(kinds)), hosts and amounts
    from `seed`."""
    if hosts < 4:
        raise ValueError(f"a fault schedule needs at least 4 validators, not {hosts}")
    if not kinds or set(kinds) - set(KINDS):
        raise ValueError(f"fault kinds must be among {', '.join(KINDS)}")
    draw = random.Random(seed)  # a test harness's schedule: never consensus
    faulty = (hosts - 1) // 3
    faults = []
    for number in range(count):
        kind = kinds[number % len(kinds)]
        order = draw.sample(range(hosts), hosts)
        hold = round(draw.uniform(*HOLD_S), 1)
        amount, seed_of_delays = 0, 0
        if kind == "partition-minority":
            groups = (tuple(sorted(order[:faulty])), tuple(sorted(order[faulty:])))
        elif kind == "partition-majority":
            half = hosts // 2
            groups = (tuple(sorted(order[:half])), tuple(sorted(order[half:])))
        elif kind == "partition-bridge":
            rest = order[1:]
            groups = ((order[0],), tuple(sorted(rest[: len(rest) // 2])),
                      tuple(sorted(rest[len(rest) // 2 :])))  # fmt: skip
        else:
            groups = ((order[0],),)
            if kind == "clock-skew":
                amount = draw.randint(*SKEW_S) * draw.choice((-1, 1))
            elif kind == "latency":
                amount = draw.randint(*DELAY_MS)
                seed_of_delays = draw.getrandbits(32)
            elif kind == "loss":
                amount = draw.randint(*LOSS_PERCENT)
        faults.append(Fault(kind, groups, hold, amount, seed_of_delays))
    return faults
