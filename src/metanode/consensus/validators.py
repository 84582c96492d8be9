"""Validator sets: voting power, quorums, and proposer selection from the chain's VRF seed.

Quorum is `ceil(2·P/3)` of the total voting power P (QBFT); a weak quorum `P − quorum + 1`
is the smallest power that must include an honest validator, used to follow others into a
higher round. Validators are ordered by address, never by hash or insertion order.

Proposer for (height, round): stake-weighted sampling without replacement, in cycles of n
rounds (n validators). Round r is position `r mod n` of cycle `r div n`. A cycle's order is drawn
position by position: `draw = tagged_hash(VRF_SEED, seed ‖ height ‖ round) mod R`, where R is the
power of the validators not yet drawn in this cycle, then the one among them (in address order)
whose cumulative power interval holds `draw`; the last one left takes the last position. So the
first n rounds of a height have n distinct proposers, and round 0 is drawn by stake exactly as
`mod P` (every validator is left). Each later cycle is drawn the same way, and if its first
proposer is the previous cycle's last, its first two trade places, so no validator proposes two
rounds in a row (n ≥ 2). That rule reads only the previous cycle's drawn order, never its
adjusted one (with n ≥ 3 a swap moves neither end of a cycle), so any round's proposer costs
at most two cycles' draws, whatever the round number a peer sends; with n = 2 the only order
that never repeats is cycle 0's, alternating. So f absent validators cost a height at most f
rounds, as with QBFT's round-robin; the draw with replacement this replaced once picked one
absent validator for rounds 0 to 3 of a height (2 + 2 + 4 + 8 s of waiting).

`seed` is the VRF output of the previous block's proposer; nobody can choose it (a VRF has one
output per key and input), so nobody can grind who proposes next. The header of height h carries
the proposer's ECVRF proof over `seed_{h-1} ‖ h`, and its output becomes `seed_h`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metanode.codec import encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import ConfigError, InvariantViolation
from metanode.types import Address

from . import constants

SEED_BYTES = 32


@dataclass(frozen=True, slots=True)
class Validator:
    address: Address
    power: int
    public_key: bytes  # Ed25519: signs consensus messages
    bls_public_key: bytes  # BLS12-381 G1: commit seals
    vrf_public_key: bytes  # edwards25519: proposer proofs

    def to_wire(self) -> list[object]:
        return [
            self.address.raw,
            self.power,
            self.public_key,
            self.bls_public_key,
            self.vrf_public_key,
        ]


@dataclass(frozen=True, slots=True)
class ValidatorSet:
    validators: tuple[Validator, ...]
    total_power: int = field(init=False)
    index_of: dict[Address, int] = field(init=False, compare=False, repr=False)
    _cycle_orders: dict[tuple[bytes, int, int], tuple[int, ...]] = field(
        init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.validators:
            raise ConfigError("a validator set needs at least one validator")
        addresses = [validator.address for validator in self.validators]
        if addresses != sorted(addresses) or len(set(addresses)) != len(addresses):
            raise ConfigError("validators must be sorted by address, each address once")
        if any(validator.power <= 0 for validator in self.validators):
            raise ConfigError("every validator needs positive voting power")
        object.__setattr__(self, "total_power", sum(v.power for v in self.validators))
        object.__setattr__(self, "index_of", {a: i for i, a in enumerate(addresses)})
        object.__setattr__(self, "_cycle_orders", {})

    @classmethod
    def of(cls, validators: list[Validator]) -> ValidatorSet:
        return cls(tuple(sorted(validators, key=lambda validator: validator.address)))

    def __len__(self) -> int:
        return len(self.validators)

    def get(self, address: Address) -> Validator | None:
        index = self.index_of.get(address)
        return None if index is None else self.validators[index]

    @property
    def quorum(self) -> int:
        return quorum(self.total_power)

    @property
    def weak_quorum(self) -> int:
        return self.total_power - self.quorum + 1

    def power_of(self, addresses: object) -> int:
        """Total power of distinct validator addresses (unknown ones count zero)."""
        total = 0
        for address in set(addresses):  # type: ignore[call-overload]
            validator = self.get(address)
            if validator is not None:
                total += validator.power
        return total

    def hash(self) -> bytes:
        return tagged_hash(
            tags.VALIDATOR_SET, encode([validator.to_wire() for validator in self.validators])
        )

    def proposer(self, seed: bytes, height: int, round_: int) -> Validator:
        size = len(self.validators)
        cycle, position = divmod(round_, size)
        order = self._cycle_order(seed, height, cycle if size > 2 else 0)
        if cycle > 0 and size > 2 and order[0] == self._cycle_order(seed, height, cycle - 1)[-1]:
            order = (order[1], order[0], *order[2:])
        return self.validators[order[position]]

    def _cycle_order(self, seed: bytes, height: int, cycle: int) -> tuple[int, ...]:
        """Memoised: every message of a round asks for its proposer; the oldest goes first."""
        key = (seed, height, cycle)
        order = self._cycle_orders.get(key)
        if order is None:
            order = self._draw_cycle(seed, height, cycle)
            if len(self._cycle_orders) >= constants.proposer_cycles_cached_max:
                del self._cycle_orders[next(iter(self._cycle_orders))]
            self._cycle_orders[key] = order
        return order

    def _draw_cycle(self, seed: bytes, height: int, cycle: int) -> tuple[int, ...]:
        """Indexes of the validators in cycle order: stake-weighted, without replacement."""
        left = list(range(len(self.validators)))
        left_power = self.total_power
        order: list[int] = []
        for position in range(len(left) - 1):
            round_ = cycle * len(self.validators) + position
            material = seed + height.to_bytes(8, "big") + round_.to_bytes(8, "big")
            draw = int.from_bytes(tagged_hash(tags.VRF_SEED, material), "big") % left_power
            index = left.pop(self._landing(left, draw))
            order.append(index)
            left_power -= self.validators[index].power
        return (*order, *left)

    def _landing(self, candidates: list[int], draw: int) -> int:
        """The slot of `candidates` whose cumulative power interval holds `draw`."""
        for slot, index in enumerate(candidates):
            power = self.validators[index].power
            if draw < power:
                return slot
            draw -= power
        raise InvariantViolation("a draw below the power left always lands on a validator")


def quorum(total_power: int) -> int:
    """`ceil(2·P/3)`: any two sets with this much power share at least a third of P, more than
    the faulty power f < P/3 that BFT tolerates, so an honest member is in both."""
    return -(-2 * total_power // 3)


def vrf_input(seed: bytes, height: int) -> bytes:
    """What the proposer of `height` proves its VRF over."""
    return tagged_hash(tags.VRF_SEED, seed + height.to_bytes(8, "big"))


def genesis_seed(chain_id: str, genesis_hash: bytes) -> bytes:
    return tagged_hash(tags.VRF_SEED, chain_id.encode() + b"\x00" + genesis_hash)
