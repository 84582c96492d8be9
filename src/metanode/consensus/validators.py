"""Validator sets: voting power, quorums, and proposer selection from the chain's VRF seed.

Quorum is `ceil(2·P/3)` of the total voting power P (QBFT); a weak quorum `P − quorum + 1`
is the smallest power that must include an honest validator, used to follow others into a
higher round. Validators are ordered by address, never by hash or insertion order.

Proposer for (height, round): `draw = tagged_hash(VRF_SEED, seed ‖ height ‖ round) mod P`,
then the validator whose cumulative power interval holds `draw`. `seed` is the VRF output of the
previous block's proposer; nobody can choose it (a VRF has one output per key and input), so
nobody can grind who proposes next. The header of height h carries the proposer's ECVRF proof
over `seed_{h-1} ‖ h`, and its output becomes `seed_h`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metanode.codec import encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.errors import ConfigError, InvariantViolation
from metanode.types import Address

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
        return -(-2 * self.total_power // 3)

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
        material = seed + height.to_bytes(8, "big") + round_.to_bytes(8, "big")
        draw = int.from_bytes(tagged_hash(tags.VRF_SEED, material), "big") % self.total_power
        for validator in self.validators:
            if draw < validator.power:
                return validator
            draw -= validator.power
        raise InvariantViolation("a draw below the total power always lands on a validator")


def vrf_input(seed: bytes, height: int) -> bytes:
    """What the proposer of `height` proves its VRF over."""
    return tagged_hash(tags.VRF_SEED, seed + height.to_bytes(8, "big"))


def genesis_seed(chain_id: str, genesis_hash: bytes) -> bytes:
    return tagged_hash(tags.VRF_SEED, chain_id.encode() + b"\x00" + genesis_hash)
