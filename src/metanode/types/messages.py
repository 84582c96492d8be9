"""Transaction messages: one typed message per transaction, encoded `[code, fields…]`.

Codes and denomination numbers are stored in blocks: never reuse or renumber one.
Stateless checks live here (`check()`), stateful rules in `metanode.state.<module>.rules`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from metanode.errors import DecodeError
from metanode.types import constants
from metanode.types.address import Address
from metanode.types.fields import expect_array, expect_bytes, expect_text, expect_uint
from metanode.types.vote import Signed


class Denom(enum.IntEnum):
    """The four denominations; each has 9 decimals and lives in integer base units."""

    GEN = 1  # governance, bonded for validator power
    NEX = 2  # execution rewards
    FLX = 3  # fees and usage
    AUR = 4  # settlement

    @classmethod
    def from_wire(cls, value: Any, name: str) -> Denom:
        code = expect_uint(value, name)
        try:
            return cls(code)
        except ValueError:
            raise DecodeError("unknown_denom", f"{name} = {code} is not a denomination") from None

    @classmethod
    def parse(cls, text: str) -> Denom:
        try:
            return cls[text.upper()]
        except KeyError:
            names = ", ".join(denom.name for denom in cls)
            raise DecodeError("unknown_denom", f"{text!r} is not one of {names}") from None


BASE_UNITS_PER_COIN = 10**constants.decimals


def coins(base_units: int) -> str:
    """Base units as an exact decimal of whole coins (`2.5` for 2,500,000,000; never through a
    float): what a person reads, in the CLIs and in refusal details alike."""
    sign = "-" if base_units < 0 else ""
    whole, fraction = divmod(abs(base_units), BASE_UNITS_PER_COIN)
    digits = f"{fraction:0{constants.decimals}d}".rstrip("0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def format_coins(amount: int, denom: Denom) -> str:
    """Base units with the unit last: `1.5 FLX`."""
    return f"{coins(amount)} {denom.name}"


@dataclass(frozen=True, slots=True)
class Transfer:
    code: ClassVar[int] = 1
    to: Address
    amount: int
    denom: Denom

    def fields(self) -> list[Any]:
        return [self.to.raw, self.amount, int(self.denom)]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Transfer:
        to, amount, denom = fields
        return cls(
            Address(expect_bytes(to, "transfer.to", constants.address_bytes)),
            expect_uint(amount, "transfer.amount"),
            Denom.from_wire(denom, "transfer.denom"),
        )


@dataclass(frozen=True, slots=True)
class Bond:
    """Bond the sender's GEN to a registered validator."""

    code: ClassVar[int] = 2
    validator: Address
    amount: int

    def fields(self) -> list[Any]:
        return [self.validator.raw, self.amount]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Bond:
        validator, amount = fields
        return cls(
            Address(expect_bytes(validator, "bond.validator", constants.address_bytes)),
            expect_uint(amount, "bond.amount"),
        )


@dataclass(frozen=True, slots=True)
class Unbond:
    """Start unbonding; the GEN returns after the unbonding delay (in blocks)."""

    code: ClassVar[int] = 3
    validator: Address
    amount: int

    def fields(self) -> list[Any]:
        return [self.validator.raw, self.amount]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Unbond:
        validator, amount = fields
        return cls(
            Address(expect_bytes(validator, "unbond.validator", constants.address_bytes)),
            expect_uint(amount, "unbond.amount"),
        )


@dataclass(frozen=True, slots=True)
class RegisterValidator:
    """Make the sender a validator candidate: its BLS key, proven by a proof of possession
    (without it a rogue key could cancel others' keys in an aggregate), and its VRF key."""

    code: ClassVar[int] = 4
    bls_public_key: bytes
    bls_proof_of_possession: bytes
    vrf_public_key: bytes

    def fields(self) -> list[Any]:
        return [self.bls_public_key, self.bls_proof_of_possession, self.vrf_public_key]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RegisterValidator:
        bls_key, pop, vrf_key = fields
        return cls(
            expect_bytes(bls_key, "register.bls_public_key", constants.bls_public_key_bytes),
            expect_bytes(pop, "register.bls_proof_of_possession", constants.bls_signature_bytes),
            expect_bytes(vrf_key, "register.vrf_public_key", constants.ed25519_public_key_bytes),
        )


@dataclass(frozen=True, slots=True)
class FaucetClaim:
    """Dev and testnet chains only: mint FLX or NEX to the sender within the faucet's limits."""

    code: ClassVar[int] = 5
    amount: int
    denom: Denom

    def fields(self) -> list[Any]:
        return [self.amount, int(self.denom)]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> FaucetClaim:
        amount, denom = fields
        return cls(expect_uint(amount, "faucet.amount"), Denom.from_wire(denom, "faucet.denom"))


class NodeType(enum.IntEnum):
    """The registry's node types (state/registry explains each); stored in records."""

    COMMUNITY = 1  # hosts and executes apps
    ENTERPRISE = 2  # validator, notary, miner
    HYBRID = 3  # a community node sponsored by a bank
    BANK = 4  # bank authority: issues credentials
    GOVERNMENT = 5  # government authority


class Role(enum.IntEnum):
    """What a registered node does; each node type allows some (a genesis parameter)."""

    VALIDATOR = 1
    NOTARY = 2
    MINER = 3
    EXECUTOR = 4
    AUTHORITY = 5


def _enum_member(kind: type[enum.IntEnum], value: Any, name: str) -> Any:
    code = expect_uint(value, name)
    try:
        return kind(code)
    except ValueError:
        raise DecodeError("out_of_range", f"{name} = {code} is not a {kind.__name__}") from None


@dataclass(frozen=True, slots=True)
class RegisterNode:
    """Register the sender in the node registry as `node_type` with `roles`, locking `stake`
    GEN. A node with the validator role becomes a staking validator candidate too (its stake is
    its own bond there). `did` is text until the identity module exists."""

    code: ClassVar[int] = 6
    node_type: NodeType
    roles: tuple[Role, ...]  # strictly increasing, at least one
    bls_public_key: bytes
    bls_proof_of_possession: bytes
    vrf_public_key: bytes
    p2p_address: str  # host:port
    did: str
    stake: int

    def fields(self) -> list[Any]:
        return [
            int(self.node_type),
            [int(role) for role in self.roles],
            self.bls_public_key,
            self.bls_proof_of_possession,
            self.vrf_public_key,
            self.p2p_address,
            self.did,
            self.stake,
        ]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RegisterNode:
        node_type, roles, bls_key, pop, vrf_key, p2p_address, did, stake = fields
        role_values = expect_array(roles, "register_node.roles", tuple(range(1, len(Role) + 1)))
        decoded = tuple(_enum_member(Role, value, "register_node.roles[]") for value in role_values)
        if list(decoded) != sorted(set(decoded)):
            raise DecodeError("unsorted_roles", "register_node.roles must be strictly increasing")
        return cls(
            _enum_member(NodeType, node_type, "register_node.node_type"),
            decoded,
            expect_bytes(bls_key, "register_node.bls_public_key", constants.bls_public_key_bytes),
            expect_bytes(
                pop, "register_node.bls_proof_of_possession", constants.bls_signature_bytes
            ),
            expect_bytes(
                vrf_key, "register_node.vrf_public_key", constants.ed25519_public_key_bytes
            ),
            expect_text(p2p_address, "register_node.p2p_address", constants.p2p_address_bytes_max),
            expect_text(did, "register_node.did", constants.did_bytes_max),
            expect_uint(stake, "register_node.stake"),
        )


@dataclass(frozen=True, slots=True)
class SubmitEvidence:
    """Equivocation evidence: two consensus records one validator signed for the same kind,
    height and round with different content. Anyone may submit it; the chain verifies it."""

    code: ClassVar[int] = 7
    first: Signed
    second: Signed

    def fields(self) -> list[Any]:
        return [self.first.to_wire(), self.second.to_wire()]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> SubmitEvidence:
        first, second = fields
        return cls(Signed.from_wire(first), Signed.from_wire(second))


Message = Transfer | Bond | Unbond | RegisterValidator | FaucetClaim | RegisterNode | SubmitEvidence
MESSAGE_TYPES: dict[int, type[Message]] = {
    kind.code: kind
    for kind in (
        Transfer,
        Bond,
        Unbond,
        RegisterValidator,
        FaucetClaim,
        RegisterNode,
        SubmitEvidence,
    )
}
_FIELD_COUNTS = {
    Transfer: 3,
    Bond: 2,
    Unbond: 2,
    RegisterValidator: 3,
    FaucetClaim: 2,
    RegisterNode: 8,
    SubmitEvidence: 2,
}


def message_to_wire(message: Message) -> list[Any]:
    return [message.code, *message.fields()]


def message_from_wire(value: Any) -> Message:
    if not isinstance(value, tuple) or not value:
        raise DecodeError("wrong_type", "message must be a non-empty array [code, fields…]")
    code = expect_uint(value[0], "message.code")
    kind = MESSAGE_TYPES.get(code)
    if kind is None:
        raise DecodeError("unknown_message", f"message code {code} is not known")
    fields = expect_array(value[1:], f"{kind.__name__} fields", _FIELD_COUNTS[kind])
    return kind.from_fields(fields)
