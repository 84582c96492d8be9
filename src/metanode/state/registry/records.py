"""registry's stored records: parameters and node records, each with its encoder and strict
decoder (a stored value of the wrong shape is a bug).

Parameters per node type (genesis parameters; only governance will change them): the minimum
stake, the identity level a credential must show, the trust score threshold, the voting-power
rule (`power_divisor` whole GEN per vote, floored; 0 means one vote per node) and the roles the
type may take. A role may add its own minimum (`role_min_stake`): an enterprise node needs the
largest of its type's and its roles' minimums. All amounts are GEN base units.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import ClassVar

from metanode.errors import check
from metanode.state import constants
from metanode.state.registry import keys
from metanode.state.staking.records import node_keys_well_formed
from metanode.state.values import decode_array, encode_value, in_ranges
from metanode.state.view import Overlay, StateReader
from metanode.types import Address, NodeType, Role

COIN = constants.base_units_per_coin


class IdentityLevel(enum.IntEnum):
    """KYC levels, in order: a credential of a level satisfies every requirement up to it
    (state/identity holds the credentials)."""

    NONE = 0
    BASIC = 1
    STANDARD = 2
    ENHANCED = 3
    FULL = 4  # full KYC


class Status(enum.IntEnum):
    """A node's life: pending until the next epoch boundary, then active; jailed by evidence
    (for good: equivocation tombstones, as in Cosmos). A node that leaves (`ExitNode`) turns
    unbonding at the next epoch boundary and exited when its stake is paid back."""

    PENDING = 1
    ACTIVE = 2
    JAILED = 3
    UNBONDING = 4
    EXITED = 5


@dataclass(frozen=True, slots=True)
class TypeParams:
    min_stake: int
    identity_level: IdentityLevel
    trust_score_min: int
    power_divisor: int  # whole GEN per vote; 0 = one vote per node
    roles: tuple[Role, ...]

    def to_wire(self) -> list[object]:
        return [
            self.min_stake,
            int(self.identity_level),
            self.trust_score_min,
            self.power_divisor,
            [int(role) for role in self.roles],
        ]


DEFAULT_TYPES: dict[NodeType, TypeParams] = {
    NodeType.COMMUNITY: TypeParams(0, IdentityLevel.NONE, 0, 0, (Role.EXECUTOR,)),
    NodeType.ENTERPRISE: TypeParams(
        0, IdentityLevel.FULL, 0, 1_000, (Role.VALIDATOR, Role.NOTARY, Role.MINER)
    ),
    NodeType.HYBRID: TypeParams(500_000 * COIN, IdentityLevel.BASIC, 0, 500, (Role.EXECUTOR,)),
    NodeType.BANK: TypeParams(10_000_000 * COIN, IdentityLevel.FULL, 0, 100, (Role.AUTHORITY,)),
    NodeType.GOVERNMENT: TypeParams(
        15_000_000 * COIN, IdentityLevel.FULL, 0, 50, (Role.AUTHORITY,)
    ),
}
# The issue names no minimum for miners: they take the validator's, the smallest enterprise one.
DEFAULT_ROLE_MIN_STAKE: dict[Role, int] = {
    Role.VALIDATOR: 1_000_000 * COIN,
    Role.NOTARY: 2_000_000 * COIN,
    Role.MINER: 1_000_000 * COIN,
    Role.EXECUTOR: 0,
    Role.AUTHORITY: 0,
}


@dataclass(frozen=True, slots=True)
class RegistryParams:
    types: tuple[tuple[NodeType, TypeParams], ...] = tuple(DEFAULT_TYPES.items())
    role_min_stake: tuple[tuple[Role, int], ...] = tuple(DEFAULT_ROLE_MIN_STAKE.items())
    slash_fraction_bps: int = 500  # of the stake, per equivocation
    slash_to_treasury: bool = False  # else burned
    evidence_age_blocks_max: int = 100_000
    # Missed commits (Cosmos x/slashing's signed_blocks_window, min_signed_per_window,
    # downtime_jail_duration in blocks, slash_fraction_downtime): a validator that signed fewer
    # than `min_signed_per_window_bps` of the last `signed_blocks_window` certificates of its
    # set is jailed, may `Unjail` after `downtime_jail_blocks`, and loses the fraction.
    signed_blocks_window: int = 100
    min_signed_per_window_bps: int = 5_000
    downtime_jail_blocks: int = 1_000
    downtime_slash_fraction_bps: int = 0
    # Inclusion lists (docs/inclusion.md): a transaction ready this many heights is listed; a
    # listed one binds proposers for `inclusion_obligation_blocks` heights, and proven
    # omissions count towards a slash as long (omission.py); this many within that span slash.
    inclusion_wait_blocks: int = 4
    inclusion_obligation_blocks: int = 32
    inclusion_omissions_to_slash: int = 3

    RANGES: ClassVar[dict[str, tuple[int, int]]] = {
        "slash_fraction_bps": (0, constants.basis_points),
        "evidence_age_blocks_max": (1, constants.evidence_age_blocks_max),
        "signed_blocks_window": (1, constants.signed_blocks_window_max),
        "min_signed_per_window_bps": (0, constants.basis_points),
        "downtime_jail_blocks": (0, constants.downtime_jail_blocks_max),
        "downtime_slash_fraction_bps": (0, constants.basis_points),
        "inclusion_wait_blocks": (0, constants.inclusion_wait_blocks_max),
        "inclusion_obligation_blocks": (1, constants.inclusion_obligation_blocks_max),
        "inclusion_omissions_to_slash": (1, constants.inclusion_obligation_blocks_max),
    }

    def __post_init__(self) -> None:
        check([t for t, _ in self.types] == list(NodeType), "registry: one entry per node type")
        check([r for r, _ in self.role_min_stake] == list(Role), "registry: one entry per role")
        problem = in_ranges(self, self.RANGES)
        check(problem is None, f"registry parameters: {problem}")

    def of(self, node_type: NodeType) -> TypeParams:
        return self.types[node_type - 1][1]

    @property
    def missed_blocks_max(self) -> int:
        """Misses a full window may hold without a jail: the window less its floored minimum."""
        window = self.signed_blocks_window
        return window - window * self.min_signed_per_window_bps // constants.basis_points

    def required_stake(self, node_type: NodeType, roles: tuple[Role, ...]) -> int:
        minimums = dict(self.role_min_stake)
        return max([self.of(node_type).min_stake, *(minimums[role] for role in roles)])


@dataclass(frozen=True, slots=True)
class NodeRecord:
    node_type: NodeType
    roles: tuple[Role, ...]
    public_key: bytes  # Ed25519, the account key: the address is its hash
    bls_public_key: bytes
    bls_proof_of_possession: bytes
    vrf_public_key: bytes
    p2p_address: str
    did: str
    # GEN the registry holds for the node in `registry/bonded`. A validator node's stake is its
    # own bond in staking instead (queries.node_stake), so each coin has one place.
    stake: int
    status: Status
    registered_height: int
    # The height at whose end the stake of a node that sent `ExitNode` is paid back and it
    # turns exited; 0 while it has not asked to leave.
    exit_height: int = 0

    @property
    def is_validator(self) -> bool:
        return Role.VALIDATOR in self.roles

    @property
    def is_authority(self) -> bool:
        return Role.AUTHORITY in self.roles

    def with_status(self, status: Status) -> NodeRecord:
        return replace(self, status=status)

    def to_wire(self) -> list[object]:
        return [
            int(self.node_type),
            [int(role) for role in self.roles],
            self.public_key,
            self.bls_public_key,
            self.bls_proof_of_possession,
            self.vrf_public_key,
            self.p2p_address,
            self.did,
            self.stake,
            int(self.status),
            self.registered_height,
            self.exit_height,
        ]


def _uint(value: object, key: bytes) -> int:
    check(type(value) is int and 0 <= value <= constants.uint64_max, f"{key.hex()}: not a uint")
    return value  # type: ignore[return-value]


def _roles(value: object, key: bytes) -> tuple[Role, ...]:
    check(type(value) is tuple, f"{key.hex()}: roles are not an array")
    values = [_uint(item, key) for item in value]  # type: ignore[attr-defined]
    check(all(1 <= item <= len(Role) for item in values), f"{key.hex()}: unknown role")
    check(values == sorted(set(values)), f"{key.hex()}: roles not strictly increasing")
    return tuple(Role(item) for item in values)


def read_params(reader: StateReader) -> RegistryParams:
    data = reader.get(keys.PARAMS)
    check(data is not None, "registry parameters missing from state (genesis not loaded?)")
    bps, to_treasury, age, role_mins, types, *counts = decode_array(data, keys.PARAMS, 12)  # type: ignore[arg-type]
    check(
        type(role_mins) is tuple and len(role_mins) == len(Role),
        "registry parameters: role minimums malformed",
    )
    check(
        type(types) is tuple and len(types) == len(NodeType),
        "registry parameters: node types malformed",
    )
    type_params = []
    for node_type, entry in zip(NodeType, types, strict=True):
        check(type(entry) is tuple and len(entry) == 5, "registry parameters: type malformed")
        min_stake, level, trust, divisor, roles = entry
        check(_uint(level, keys.PARAMS) <= max(IdentityLevel), "registry: unknown level")
        type_params.append(
            (
                node_type,
                TypeParams(
                    _uint(min_stake, keys.PARAMS),
                    IdentityLevel(level),
                    _uint(trust, keys.PARAMS),
                    _uint(divisor, keys.PARAMS),
                    _roles(roles, keys.PARAMS),
                ),
            )
        )
    check(to_treasury in (0, 1) and type(to_treasury) is int, "registry: slash_to_treasury")
    return RegistryParams(
        tuple(type_params),
        tuple(
            (role, _uint(amount, keys.PARAMS)) for role, amount in zip(Role, role_mins, strict=True)
        ),
        _uint(bps, keys.PARAMS),
        bool(to_treasury),
        _uint(age, keys.PARAMS),
        *(_uint(value, keys.PARAMS) for value in counts),
    )


def params_to_wire(params: RegistryParams) -> list[object]:
    return [
        params.slash_fraction_bps,
        int(params.slash_to_treasury),
        params.evidence_age_blocks_max,
        [amount for _, amount in params.role_min_stake],
        [entry.to_wire() for _, entry in params.types],
        params.signed_blocks_window,
        params.min_signed_per_window_bps,
        params.downtime_jail_blocks,
        params.downtime_slash_fraction_bps,
        params.inclusion_wait_blocks,
        params.inclusion_obligation_blocks,
        params.inclusion_omissions_to_slash,
    ]


def write_params(writer: Overlay, params: RegistryParams) -> None:
    writer.put(keys.PARAMS, encode_value(params_to_wire(params)))


def decode_node(data: bytes, key: bytes) -> NodeRecord:
    (
        node_type,
        roles,
        public_key,
        bls_key,
        pop,
        vrf_key,
        p2p_address,
        did,
        stake,
        status,
        height,
        exit_height,
    ) = decode_array(data, key, 12)
    check(
        _uint(node_type, key) in set(NodeType) and _uint(status, key) in set(Status),
        f"node record at {key.hex()}: unknown type or status",
    )
    check(
        node_keys_well_formed(public_key, bls_key, pop, vrf_key)
        and type(p2p_address) is str
        and type(did) is str,
        f"node record at {key.hex()} is malformed",
    )
    return NodeRecord(
        NodeType(node_type),
        _roles(roles, key),
        public_key,  # type: ignore[arg-type]
        bls_key,  # type: ignore[arg-type]
        pop,  # type: ignore[arg-type]
        vrf_key,  # type: ignore[arg-type]
        p2p_address,  # type: ignore[arg-type]
        did,  # type: ignore[arg-type]
        _uint(stake, key),
        Status(status),
        _uint(height, key),
        _uint(exit_height, key),
    )


def read_node(reader: StateReader, address: Address) -> NodeRecord | None:
    key = keys.node(address)
    data = reader.get(key)
    return None if data is None else decode_node(data, key)


def write_node(writer: Overlay, address: Address, record: NodeRecord) -> None:
    writer.put(keys.node(address), encode_value(record.to_wire()))
