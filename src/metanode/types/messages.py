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
from metanode.types.fields import (
    expect_array,
    expect_bool,
    expect_bytes,
    expect_text,
    expect_uint,
)
from metanode.types.logblock import LogBlock
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
    its own bond there). `did` names the node's DID; a type that requires an identity
    level needs a DID the sender controls, holding a credential of that level."""

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


@dataclass(frozen=True, slots=True)
class ExitNode:
    """The sender's registered node leaves: it turns `unbonding` at the next epoch boundary and
    leaves the validator set there; its stake is released after the unbonding delay, when it
    turns `exited` (docs/registry.md)."""

    code: ClassVar[int] = 17

    def fields(self) -> list[Any]:
        return []

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ExitNode:
        return cls()


@dataclass(frozen=True, slots=True)
class Unjail:
    """The sender's validator, jailed for missing commits, asks to sign again: it rejoins the
    set computed at the next epoch boundary. Only after the downtime jail's length; a jail for
    equivocation is for good (docs/registry.md)."""

    code: ClassVar[int] = 23

    def fields(self) -> list[Any]:
        return []

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Unjail:
        return cls()


class Relationship(enum.IntFlag):
    """What a DID's verification method may be used for (W3C DID Core §5.3), as bits."""

    AUTHENTICATION = 1  # controls the DID: signs its update, rotate and deactivate transactions
    ASSERTION = 2  # signs credentials (assertionMethod)


@dataclass(frozen=True, slots=True)
class VerificationMethod:
    """A DID's Ed25519 key, named by its fragment (`did:metanode:…#<fragment>`)."""

    fragment: str
    public_key: bytes
    relationships: Relationship

    def to_wire(self) -> list[Any]:
        return [self.fragment, self.public_key, int(self.relationships)]

    @classmethod
    def from_wire(cls, value: Any, name: str) -> VerificationMethod:
        fragment, public_key, relationships = expect_array(value, name, 3)
        return cls(
            expect_text(fragment, f"{name}.fragment", constants.did_fragment_bytes_max),
            expect_bytes(public_key, f"{name}.public_key", constants.ed25519_public_key_bytes),
            Relationship(
                expect_uint(relationships, f"{name}.relationships", max(Relationship) * 2 - 1)
            ),
        )


@dataclass(frozen=True, slots=True)
class Service:
    """A DID document's service endpoint (W3C DID Core §5.4)."""

    fragment: str
    type: str
    endpoint: str

    def to_wire(self) -> list[Any]:
        return [self.fragment, self.type, self.endpoint]

    @classmethod
    def from_wire(cls, value: Any, name: str) -> Service:
        fragment, kind, endpoint = expect_array(value, name, 3)
        return cls(
            expect_text(fragment, f"{name}.fragment", constants.did_fragment_bytes_max),
            expect_text(kind, f"{name}.type", constants.did_service_type_bytes_max),
            expect_text(endpoint, f"{name}.endpoint", constants.did_service_endpoint_bytes_max),
        )


def _texts(value: Any, name: str, count_max: int, bytes_max: int) -> tuple[str, ...]:
    items = expect_array(value, name, tuple(range(count_max + 1)))
    return tuple(expect_text(item, f"{name}[]", bytes_max) for item in items)


def _items(value: Any, name: str, count_max: int, kind: Any) -> tuple[Any, ...]:
    items = expect_array(value, name, tuple(range(count_max + 1)))
    return tuple(kind.from_wire(item, f"{name}[]") for item in items)


@dataclass(frozen=True, slots=True)
class CreateDid:
    """Create `did:metanode:<id>`, where id is derived from the sender's key (state/identity).
    Its first verification method, `#key-1`, is the sender's key for authentication and
    assertion. `controllers` are DIDs that may also change it; empty means itself alone."""

    code: ClassVar[int] = 8
    controllers: tuple[str, ...]
    services: tuple[Service, ...]

    def fields(self) -> list[Any]:
        return [list(self.controllers), [service.to_wire() for service in self.services]]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> CreateDid:
        controllers, services = fields
        return cls(
            _texts(
                controllers,
                "create_did.controllers",
                constants.did_controllers_max,
                constants.did_bytes_max,
            ),
            _items(services, "create_did.services", constants.did_services_max, Service),
        )


@dataclass(frozen=True, slots=True)
class UpdateDid:
    """Add and remove verification methods and services of `did`; the sender's key must
    authenticate for one of its controllers. Removals apply before additions."""

    code: ClassVar[int] = 9
    did: str
    add_methods: tuple[VerificationMethod, ...]
    remove_methods: tuple[str, ...]
    add_services: tuple[Service, ...]
    remove_services: tuple[str, ...]

    def fields(self) -> list[Any]:
        return [
            self.did,
            [method.to_wire() for method in self.add_methods],
            list(self.remove_methods),
            [service.to_wire() for service in self.add_services],
            list(self.remove_services),
        ]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> UpdateDid:
        did, add_methods, remove_methods, add_services, remove_services = fields
        return cls(
            expect_text(did, "update_did.did", constants.did_bytes_max),
            _items(
                add_methods, "update_did.add_methods", constants.did_methods_max, VerificationMethod
            ),
            _texts(
                remove_methods,
                "update_did.remove_methods",
                constants.did_methods_max,
                constants.did_fragment_bytes_max,
            ),
            _items(add_services, "update_did.add_services", constants.did_services_max, Service),
            _texts(
                remove_services,
                "update_did.remove_services",
                constants.did_services_max,
                constants.did_fragment_bytes_max,
            ),
        )


@dataclass(frozen=True, slots=True)
class RotateDidKey:
    """Replace the key of `did`'s authentication method `fragment` with `public_key` (the
    method keeps its name and relationships)."""

    code: ClassVar[int] = 10
    did: str
    fragment: str
    public_key: bytes

    def fields(self) -> list[Any]:
        return [self.did, self.fragment, self.public_key]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RotateDidKey:
        did, fragment, public_key = fields
        return cls(
            expect_text(did, "rotate_did_key.did", constants.did_bytes_max),
            expect_text(fragment, "rotate_did_key.fragment", constants.did_fragment_bytes_max),
            expect_bytes(
                public_key, "rotate_did_key.public_key", constants.ed25519_public_key_bytes
            ),
        )


@dataclass(frozen=True, slots=True)
class DeactivateDid:
    """Deactivate `did` for good: it resolves with `deactivated: true` and changes no more."""

    code: ClassVar[int] = 11
    did: str

    def fields(self) -> list[Any]:
        return [self.did]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> DeactivateDid:
        (did,) = fields
        return cls(expect_text(did, "deactivate_did.did", constants.did_bytes_max))


@dataclass(frozen=True, slots=True)
class RegisterCredential:
    """Put a KYC verifiable credential (JSON, UTF-8, signed `eddsa-jcs-2022`) on chain for its
    subject; the chain verifies issuer, proof, subject and status before it counts."""

    code: ClassVar[int] = 12
    credential: bytes

    def fields(self) -> list[Any]:
        return [self.credential]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RegisterCredential:
        (credential,) = fields
        return cls(
            expect_bytes(
                credential, "register_credential.credential", maximum=constants.credential_bytes_max
            )
        )


@dataclass(frozen=True, slots=True)
class RevokeCredential:
    """Set bit `index` of `issuer`'s revocation status list (Bitstring Status List); the
    sender's key must authenticate for one of the issuer DID's controllers."""

    code: ClassVar[int] = 13
    issuer: str
    index: int

    def fields(self) -> list[Any]:
        return [self.issuer, self.index]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RevokeCredential:
        issuer, index = fields
        return cls(
            expect_text(issuer, "revoke_credential.issuer", constants.did_bytes_max),
            expect_uint(index, "revoke_credential.index"),
        )


class VoteOption(enum.IntEnum):
    """A governance vote (Cosmos x/gov's numbering; VETO is its NO_WITH_VETO)."""

    YES = 1
    ABSTAIN = 2
    NO = 3
    VETO = 4


@dataclass(frozen=True, slots=True)
class ParameterChange:
    """Set one parameter of governance's closed list (`state.governance.parameters`) to
    `value`. The number is not decoded into that list here: an unknown one is a stateful
    refusal with its own code, so a client learns which parameter it got wrong."""

    parameter: int
    value: int

    def to_wire(self) -> list[Any]:
        return [self.parameter, self.value]


@dataclass(frozen=True, slots=True)
class ParameterChanges:
    kind: ClassVar[int] = 1
    changes: tuple[ParameterChange, ...]  # strictly increasing parameter numbers, at least one

    def fields(self) -> list[Any]:
        return [[change.to_wire() for change in self.changes]]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...], name: str) -> ParameterChanges:
        (changes,) = fields
        items = expect_array(changes, name, tuple(range(1, constants.parameter_changes_max + 1)))
        decoded = []
        for item in items:
            parameter, value = expect_array(item, f"{name}[]", 2)
            decoded.append(
                ParameterChange(
                    expect_uint(parameter, f"{name}[].parameter"),
                    expect_uint(value, f"{name}[].value"),
                )
            )
        numbers = [change.parameter for change in decoded]
        if numbers != sorted(set(numbers)):
            raise DecodeError("unsorted_parameters", f"{name} must be strictly increasing")
        return cls(tuple(decoded))


@dataclass(frozen=True, slots=True)
class TreasurySpend:
    """Pay `amount` of `denom` from the treasury module account to `recipient`."""

    kind: ClassVar[int] = 2
    recipient: Address
    amount: int
    denom: Denom

    def fields(self) -> list[Any]:
        return [self.recipient.raw, self.amount, int(self.denom)]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...], name: str) -> TreasurySpend:
        recipient, amount, denom = fields
        return cls(
            Address(expect_bytes(recipient, f"{name}.recipient", constants.address_bytes)),
            expect_uint(amount, f"{name}.amount"),
            Denom.from_wire(denom, f"{name}.denom"),
        )


@dataclass(frozen=True, slots=True)
class AuthorityChange:
    """Turn the authority role of a registered bank or government node on or off."""

    kind: ClassVar[int] = 3
    node: Address
    enabled: bool

    def fields(self) -> list[Any]:
        return [self.node.raw, self.enabled]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...], name: str) -> AuthorityChange:
        node, enabled = fields
        return cls(
            Address(expect_bytes(node, f"{name}.node", constants.address_bytes)),
            expect_bool(enabled, f"{name}.enabled"),
        )


@dataclass(frozen=True, slots=True)
class SoftwareUpgrade:
    """A signal: software `name` is to run from `height`. Recorded on chain; nothing else."""

    kind: ClassVar[int] = 4
    name: str
    height: int

    def fields(self) -> list[Any]:
        return [self.name, self.height]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...], name: str) -> SoftwareUpgrade:
        upgrade, height = fields
        return cls(
            expect_text(upgrade, f"{name}.name", constants.upgrade_name_bytes_max),
            expect_uint(height, f"{name}.height"),
        )


@dataclass(frozen=True, slots=True)
class AppContainment:
    """Emergency mode for an app (state/policy): while `contained`, the chain includes no new
    call of it; the calls already included run and settle, and the chain goes on."""

    kind: ClassVar[int] = 5
    app_id: bytes
    contained: bool

    def fields(self) -> list[Any]:
        return [self.app_id, self.contained]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...], name: str) -> AppContainment:
        app_id, contained = fields
        return cls(
            expect_bytes(app_id, f"{name}.app_id", constants.hash_bytes),
            expect_bool(contained, f"{name}.contained"),
        )


ProposalContent = (
    ParameterChanges | TreasurySpend | AuthorityChange | SoftwareUpgrade | AppContainment
)
_CONTENT_TYPES: dict[int, tuple[type[ProposalContent], int]] = {
    kind.kind: (kind, count)
    for kind, count in (
        (ParameterChanges, 1),
        (TreasurySpend, 3),
        (AuthorityChange, 2),
        (SoftwareUpgrade, 2),
        (AppContainment, 2),
    )
}


def content_to_wire(content: ProposalContent) -> list[Any]:
    return [content.kind, *content.fields()]


def content_from_wire(value: Any, name: str) -> ProposalContent:
    if not isinstance(value, tuple) or not value:
        raise DecodeError("wrong_type", f"{name} must be a non-empty array [kind, fields…]")
    kind = expect_uint(value[0], f"{name}.kind")
    entry = _CONTENT_TYPES.get(kind)
    if entry is None:
        raise DecodeError("unknown_proposal_kind", f"{name}.kind {kind} is not known")
    content_type, count = entry
    return content_type.from_fields(expect_array(value[1:], name, count), name)


@dataclass(frozen=True, slots=True)
class SubmitProposal:
    """Submit a governance proposal with the sender's initial deposit of `deposit` GEN."""

    code: ClassVar[int] = 14
    title: str
    content: ProposalContent
    deposit: int

    def fields(self) -> list[Any]:
        return [self.title, content_to_wire(self.content), self.deposit]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> SubmitProposal:
        title, content, deposit = fields
        return cls(
            expect_text(title, "submit_proposal.title", constants.proposal_title_bytes_max),
            content_from_wire(content, "submit_proposal.content"),
            expect_uint(deposit, "submit_proposal.deposit"),
        )


@dataclass(frozen=True, slots=True)
class Deposit:
    """Add `amount` GEN to a proposal's deposit (anyone may)."""

    code: ClassVar[int] = 15
    proposal_id: int
    amount: int

    def fields(self) -> list[Any]:
        return [self.proposal_id, self.amount]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Deposit:
        proposal_id, amount = fields
        return cls(
            expect_uint(proposal_id, "deposit.proposal_id"),
            expect_uint(amount, "deposit.amount"),
        )


@dataclass(frozen=True, slots=True)
class Vote:
    """Vote on a proposal in its voting period; a later vote replaces an earlier one."""

    code: ClassVar[int] = 16
    proposal_id: int
    option: VoteOption

    def fields(self) -> list[Any]:
        return [self.proposal_id, int(self.option)]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Vote:
        proposal_id, option = fields
        return cls(
            expect_uint(proposal_id, "vote.proposal_id"),
            _enum_member(VoteOption, option, "vote.option"),
        )


def _app_id(value: Any, name: str) -> bytes:
    return expect_bytes(value, name, constants.hash_bytes)


@dataclass(frozen=True, slots=True)
class DeployApp:
    """Deploy a WASM module as an app owned by the sender (state/apps): its id is the module's
    BLAKE3 hash; `replicas` executors run each call; a call pays up to `fuel_limit` fuel at
    `fuel_price` FLX base units each."""

    code: ClassVar[int] = 18
    module: bytes
    replicas: int
    fuel_price: int
    fuel_limit: int

    def fields(self) -> list[Any]:
        return [self.module, self.replicas, self.fuel_price, self.fuel_limit]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> DeployApp:
        module, replicas, fuel_price, fuel_limit = fields
        return cls(
            expect_bytes(module, "deploy_app.module", maximum=constants.app_module_bytes_max),
            expect_uint(replicas, "deploy_app.replicas"),
            expect_uint(fuel_price, "deploy_app.fuel_price"),
            expect_uint(fuel_limit, "deploy_app.fuel_limit"),
        )


@dataclass(frozen=True, slots=True)
class UpgradeApp:
    """The owner's new module for an app: a new version; the old ones stay on record."""

    code: ClassVar[int] = 19
    app_id: bytes
    module: bytes

    def fields(self) -> list[Any]:
        return [self.app_id, self.module]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> UpgradeApp:
        app_id, module = fields
        return cls(
            _app_id(app_id, "upgrade_app.app_id"),
            expect_bytes(module, "upgrade_app.module", maximum=constants.app_module_bytes_max),
        )


@dataclass(frozen=True, slots=True)
class CallApp:
    """Call `function` of an app with `input`; `version` 0 means the current one. The sender
    escrows `fuel_limit` × the app's fuel price in FLX at inclusion."""

    code: ClassVar[int] = 20
    app_id: bytes
    version: int
    function: str
    input: bytes
    fuel_limit: int

    def fields(self) -> list[Any]:
        return [self.app_id, self.version, self.function, self.input, self.fuel_limit]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> CallApp:
        app_id, version, function, input_, fuel_limit = fields
        return cls(
            _app_id(app_id, "call_app.app_id"),
            expect_uint(version, "call_app.version"),
            expect_text(function, "call_app.function", constants.app_function_bytes_max),
            expect_bytes(input_, "call_app.input", maximum=constants.app_input_bytes_max),
            expect_uint(fuel_limit, "call_app.fuel_limit"),
        )


@dataclass(frozen=True, slots=True)
class ScaleApp:
    """The owner sets how many executors run the app's calls (the executor draw reads it)."""

    code: ClassVar[int] = 21
    app_id: bytes
    replicas: int

    def fields(self) -> list[Any]:
        return [self.app_id, self.replicas]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ScaleApp:
        app_id, replicas = fields
        return cls(_app_id(app_id, "scale_app.app_id"), expect_uint(replicas, "scale_app.replicas"))


@dataclass(frozen=True, slots=True)
class SubmitLogBlock:
    """Commit a notary LogBlock (types/logblock.py); anyone may submit one, the chain checks
    its range, root and committee signature (state/notary)."""

    code: ClassVar[int] = 22
    logblock: LogBlock

    def fields(self) -> list[Any]:
        return [self.logblock.to_wire()]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> SubmitLogBlock:
        (logblock,) = fields
        return cls(LogBlock.from_wire(logblock))


@dataclass(frozen=True, slots=True)
class OpenDispute:
    """Challenge a notarised execution receipt (state/court): `receipt` is its encoded body
    and signature (docklock.receipt), `claim_root` the app's state root after its call as the
    challenger holds it; `from_start` bisects from the app's empty state before call 0 instead
    of agreeing with the receipt's own `state_root_before`. The sender escrows `bond` FLX."""

    code: ClassVar[int] = 24
    receipt: bytes
    claim_root: bytes
    from_start: bool
    bond: int

    def fields(self) -> list[Any]:
        return [self.receipt, self.claim_root, self.from_start, self.bond]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> OpenDispute:
        receipt, claim_root, from_start, bond = fields
        return cls(
            expect_bytes(receipt, "open_dispute.receipt", maximum=constants.tx_bytes_max),
            expect_bytes(claim_root, "open_dispute.claim_root", constants.hash_bytes),
            expect_bool(from_start, "open_dispute.from_start"),
            expect_uint(bond, "open_dispute.bond"),
        )


@dataclass(frozen=True, slots=True)
class ChallengeReceipt:
    """Challenge a notarised execution receipt (state/court) with the sender's own signed
    receipt of the same call (`own_receipt`): the two results, output and state root alike,
    are the sides' claims, as in a replicas' dispute, so a lie in the output alone is caught
    too. The sender escrows `bond` FLX."""

    code: ClassVar[int] = 39
    receipt: bytes
    own_receipt: bytes
    bond: int

    def fields(self) -> list[Any]:
        return [self.receipt, self.own_receipt, self.bond]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ChallengeReceipt:
        receipt, own_receipt, bond = fields
        return cls(
            expect_bytes(receipt, "challenge_receipt.receipt", maximum=constants.tx_bytes_max),
            expect_bytes(
                own_receipt, "challenge_receipt.own_receipt", maximum=constants.tx_bytes_max
            ),
            expect_uint(bond, "challenge_receipt.bond"),
        )


@dataclass(frozen=True, slots=True)
class RevealReceipt:
    """A side of a dispute the notaries recorded (replicas disagreed) shows its receipt of the
    disputed call: its hash must be that side's leaf in the withheld LogBlock."""

    code: ClassVar[int] = 25
    dispute_id: int
    receipt: bytes

    def fields(self) -> list[Any]:
        return [self.dispute_id, self.receipt]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RevealReceipt:
        dispute_id, receipt = fields
        return cls(
            expect_uint(dispute_id, "reveal_receipt.dispute_id"),
            expect_bytes(receipt, "reveal_receipt.receipt", maximum=constants.tx_bytes_max),
        )


@dataclass(frozen=True, slots=True)
class MoveDispute:
    """A bisection turn: `answers` are the mover's state roots at the points the other side
    posted last, `roots` its roots at the points of the range that the answers leave."""

    code: ClassVar[int] = 26
    dispute_id: int
    answers: tuple[bytes, ...]
    roots: tuple[bytes, ...]

    def fields(self) -> list[Any]:
        return [self.dispute_id, list(self.answers), list(self.roots)]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MoveDispute:
        dispute_id, answers, roots = fields
        return cls(
            expect_uint(dispute_id, "move_dispute.dispute_id"),
            _roots(answers, "move_dispute.answers"),
            _roots(roots, "move_dispute.roots"),
        )


def _roots(value: Any, name: str) -> tuple[bytes, ...]:
    if not isinstance(value, tuple) or len(value) > constants.dispute_points_max:
        raise DecodeError(
            "wrong_type", f"{name} must be an array of at most {constants.dispute_points_max}"
        )
    return tuple(expect_bytes(item, name, constants.hash_bytes) for item in value)


@dataclass(frozen=True, slots=True)
class RuleDispute:
    """Ask for the one-step ruling of a dispute narrowed to one call: `reads` proves the app's
    state before it at the keys the call touches, against the agreed root (CBOR
    `[[[key, value or null], …], entry count, multiproof]`, `docklock.appstate.prove_keys`);
    `evidence` is optional (empty): the encoded [receipt, [witness record…]] of the losing
    executor's run, from which the ruling names its first divergent witness step. `module` is
    the disputed call's module when its app was deployed from relay storage (the chain holds
    its hash, not its bytes: every validator checks these against it), empty for one held on
    chain."""

    code: ClassVar[int] = 27
    dispute_id: int
    reads: bytes
    evidence: bytes
    module: bytes = b""

    def fields(self) -> list[Any]:
        return [self.dispute_id, self.reads, self.evidence, self.module]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RuleDispute:
        dispute_id, reads, evidence, module = fields
        return cls(
            expect_uint(dispute_id, "rule_dispute.dispute_id"),
            expect_bytes(reads, "rule_dispute.reads", maximum=constants.logblock_tx_bytes_max),
            expect_bytes(
                evidence, "rule_dispute.evidence", maximum=constants.logblock_tx_bytes_max
            ),
            expect_bytes(
                module, "rule_dispute.module", maximum=constants.app_stored_module_bytes_max
            ),
        )


@dataclass(frozen=True, slots=True)
class RotateNodeKey:
    """Replace the Ed25519 node key of the sender's identity (its consensus key and TLS
    certificate) from the next epoch's validator set on; the identity (address, records,
    stake) stays. Double-signed like `MigrateAccount`: the envelope by the identity's key,
    `signature` by the new key over the rotation statement (`state/keys/rules.py`), hybrid with
    `mldsa_key` when that is given (it then replaces the identity's ML-DSA node key), and
    `recorded_signature` by the ML-DSA key the identity records, if it records one. Empty
    signatures decode, so that a one-key rotation gets its own result code."""

    code: ClassVar[int] = 43
    public_key: bytes
    mldsa_key: bytes
    signature: bytes
    recorded_signature: bytes

    def fields(self) -> list[Any]:
        return [self.public_key, self.mldsa_key, self.signature, self.recorded_signature]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RotateNodeKey:
        public_key, mldsa_key, signature, recorded_signature = fields
        return cls(
            expect_bytes(
                public_key, "rotate_node_key.public_key", constants.ed25519_public_key_bytes
            ),
            expect_bytes(
                mldsa_key, "rotate_node_key.mldsa_key", maximum=constants.mldsa65_public_key_bytes
            ),
            expect_bytes(
                signature,
                "rotate_node_key.signature",
                maximum=constants.ed25519_signature_bytes + constants.mldsa65_signature_bytes,
            ),
            expect_bytes(
                recorded_signature,
                "rotate_node_key.recorded_signature",
                maximum=constants.mldsa65_signature_bytes,
            ),
        )


@dataclass(frozen=True, slots=True)
class RegisterShadow:
    """A Web2 service's shadow identity (state/shadow): its DNS `domain`, bound to the Ed25519
    `service_key` that signs what it does for users and the X25519 `encryption_key` payloads
    are sealed to. The sender owns it; registering again rotates the keys."""

    code: ClassVar[int] = 35
    domain: str
    service_key: bytes
    encryption_key: bytes

    def fields(self) -> list[Any]:
        return [self.domain, self.service_key, self.encryption_key]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RegisterShadow:
        domain, service_key, encryption_key = fields
        return cls(
            expect_text(domain, "register_shadow.domain", constants.shadow_domain_bytes_max),
            expect_bytes(service_key, "register_shadow.service_key", 32),
            expect_bytes(encryption_key, "register_shadow.encryption_key", 32),
        )


@dataclass(frozen=True, slots=True)
class ShadowScope:
    """One app a grant covers, and its functions (empty: all of them)."""

    app_id: bytes
    functions: tuple[str, ...] = ()

    def to_wire(self) -> list[Any]:
        return [self.app_id, list(self.functions)]

    @classmethod
    def from_wire(cls, value: Any, name: str) -> ShadowScope:
        app_id, functions = expect_array(value, name, 2)
        return cls(
            _app_id(app_id, f"{name}.app_id"),
            _texts(
                functions,
                f"{name}.functions",
                constants.shadow_functions_max,
                constants.app_function_bytes_max,
            ),
        )


@dataclass(frozen=True, slots=True)
class GrantShadow:
    """The sender lets the shadow of `domain` act as them on the `scopes` until block
    `expiry_height` (exclusive); no scopes revokes the grant they gave it."""

    code: ClassVar[int] = 36
    domain: str
    scopes: tuple[ShadowScope, ...]
    expiry_height: int

    def fields(self) -> list[Any]:
        return [self.domain, [scope.to_wire() for scope in self.scopes], self.expiry_height]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> GrantShadow:
        domain, scopes, expiry_height = fields
        return cls(
            expect_text(domain, "grant_shadow.domain", constants.shadow_domain_bytes_max),
            _items(scopes, "grant_shadow.scopes", constants.shadow_scopes_max, ShadowScope),
            expect_uint(expiry_height, "grant_shadow.expiry_height"),
        )


@dataclass(frozen=True, slots=True)
class RegisterPolicy:
    """Register the next version of an app's BISO policy (state/policy): `document` is its
    canonical CBOR, `signature` the Ed25519 signature by `signer` (the app's owner, or a node
    with the authority role) of the document's tagged hash. The document is checked by the
    rule, so a malformed one is refused with a code and costs its fee."""

    code: ClassVar[int] = 30
    document: bytes
    signer: bytes
    signature: bytes

    def fields(self) -> list[Any]:
        return [self.document, self.signer, self.signature]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RegisterPolicy:
        document, signer, signature = fields
        return cls(
            expect_bytes(
                document, "register_policy.document", maximum=constants.policy_document_bytes_max
            ),
            expect_bytes(signer, "register_policy.signer", constants.ed25519_public_key_bytes),
            expect_bytes(signature, "register_policy.signature", constants.ed25519_signature_bytes),
        )


@dataclass(frozen=True, slots=True)
class DeclareRegion:
    """A registered node declares the region it runs in; executor draws for apps whose policy
    names regions read it (state/policy)."""

    code: ClassVar[int] = 31
    region: str

    def fields(self) -> list[Any]:
        return [self.region]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> DeclareRegion:
        (region,) = fields
        return cls(expect_text(region, "declare_region.region", constants.region_bytes_max))


@dataclass(frozen=True, slots=True)
class ProveKyc:
    """Prove in zero knowledge (AnonCreds, state/privacy) that the sender holds an unrevoked
    KYC credential of `issuer` with level ≥ `level_min` and, unless `age_min` is 0, a birth
    date at least `age_min` years before the block's date; `presentation` is the proof (JSON)."""

    code: ClassVar[int] = 33
    issuer: str
    level_min: int
    age_min: int
    presentation: bytes

    def fields(self) -> list[Any]:
        return [self.issuer, self.level_min, self.age_min, self.presentation]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ProveKyc:
        issuer, level_min, age_min, presentation = fields
        return cls(
            expect_text(issuer, "prove_kyc.issuer", constants.did_bytes_max),
            expect_uint(level_min, "prove_kyc.level_min"),
            expect_uint(age_min, "prove_kyc.age_min"),
            expect_bytes(
                presentation, "prove_kyc.presentation", maximum=constants.zk_presentation_bytes_max
            ),
        )


@dataclass(frozen=True, slots=True)
class PublishZkIssuer:
    """An authority publishes its AnonCreds KYC definitions (once; empty afterwards) and its
    current revocation status list (JSON each); sent by a key that authenticates for the
    issuer DID's controllers."""

    code: ClassVar[int] = 34
    issuer: str
    definitions: bytes
    status_list: bytes

    def fields(self) -> list[Any]:
        return [self.issuer, self.definitions, self.status_list]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> PublishZkIssuer:
        issuer, definitions, status_list = fields
        return cls(
            expect_text(issuer, "publish_zk_issuer.issuer", constants.did_bytes_max),
            expect_bytes(
                definitions,
                "publish_zk_issuer.definitions",
                maximum=constants.zk_definitions_bytes_max,
            ),
            expect_bytes(
                status_list,
                "publish_zk_issuer.status_list",
                maximum=constants.zk_status_list_bytes_max,
            ),
        )


@dataclass(frozen=True, slots=True)
class PlaceBlob:
    """Place a blob on storage nodes (state/storage): `root` is its content address (the RFC
    6962 root over its chunks' BLAKE3 hashes), `coded_root` the root over its k-of-n coded
    chunks (storage/coding.py); the chain picks the n nodes and charges the sender, its owner,
    for the coded bytes."""

    code: ClassVar[int] = 28
    root: bytes
    coded_root: bytes
    size: int
    chunk_bytes: int
    k: int
    n: int

    def fields(self) -> list[Any]:
        return [self.root, self.coded_root, self.size, self.chunk_bytes, self.k, self.n]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> PlaceBlob:
        root, coded_root, size, chunk_bytes, k, n = fields
        return cls(
            expect_bytes(root, "place_blob.root", constants.hash_bytes),
            expect_bytes(coded_root, "place_blob.coded_root", constants.hash_bytes),
            expect_uint(size, "place_blob.size"),
            expect_uint(chunk_bytes, "place_blob.chunk_bytes"),
            expect_uint(k, "place_blob.k"),
            expect_uint(n, "place_blob.n"),
        )


@dataclass(frozen=True, slots=True)
class ReportStorageFault:
    """A holder of one share of a blob reports that the holder of `share` failed a storage
    challenge (no answer, or a chunk that does not verify): recorded against that node; enough
    distinct reporters move the share to another node (state/storage)."""

    code: ClassVar[int] = 29
    root: bytes
    share: int

    def fields(self) -> list[Any]:
        return [self.root, self.share]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ReportStorageFault:
        root, share = fields
        return cls(
            expect_bytes(root, "report_storage_fault.root", constants.hash_bytes),
            expect_uint(share, "report_storage_fault.share"),
        )


@dataclass(frozen=True, slots=True)
class DeployStoredApp:
    """Deploy as an app the WASM module the sender placed in relay storage as blob `root`
    (`size` bytes), too large to carry in a transaction (docs/decisions/stored-modules.md).
    The chain holds no bytes to hash or compile, so the deploy declares the module's BLAKE3
    hash (the app id, as for an inline deploy) and its exported functions; executors fetch the
    blob, check it against both and by the cage's rules, and refuse to run it otherwise."""

    code: ClassVar[int] = 41
    root: bytes
    size: int
    module_hash: bytes
    functions: tuple[str, ...]
    replicas: int
    fuel_price: int
    fuel_limit: int

    def fields(self) -> list[Any]:
        return [
            self.root,
            self.size,
            self.module_hash,
            list(self.functions),
            self.replicas,
            self.fuel_price,
            self.fuel_limit,
        ]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> DeployStoredApp:
        root, size, module_hash, functions, replicas, fuel_price, fuel_limit = fields
        return cls(
            expect_bytes(root, "deploy_stored_app.root", constants.hash_bytes),
            expect_uint(size, "deploy_stored_app.size"),
            _app_id(module_hash, "deploy_stored_app.module_hash"),
            _texts(
                functions,
                "deploy_stored_app.functions",
                constants.app_functions_max,
                constants.app_function_bytes_max,
            ),
            expect_uint(replicas, "deploy_stored_app.replicas"),
            expect_uint(fuel_price, "deploy_stored_app.fuel_price"),
            expect_uint(fuel_limit, "deploy_stored_app.fuel_limit"),
        )


@dataclass(frozen=True, slots=True)
class DeleteBlob:
    """The owner deletes its blob from relay storage (state/storage): the placement goes, its
    holders drop the chunks, the quotas it took are free again."""

    code: ClassVar[int] = 42
    root: bytes

    def fields(self) -> list[Any]:
        return [self.root]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> DeleteBlob:
        (root,) = fields
        return cls(expect_bytes(root, "delete_blob.root", constants.hash_bytes))


@dataclass(frozen=True, slots=True)
class MigrateAccount:
    """Move the sender's Ed25519 account to hybrid keys: its coins go to the address of
    (`ed25519_key`, `mldsa_key`), and its Ed25519 key alone signs nothing more. The envelope is
    signed by the old key; `signature` is the new keys' hybrid signature over the migration
    statement (`state/keys/rules.py`), so both keys consent. An empty ML-DSA key or signature
    decodes, so that a one-key migration gets its own result code."""

    code: ClassVar[int] = 37
    ed25519_key: bytes
    mldsa_key: bytes
    signature: bytes

    def fields(self) -> list[Any]:
        return [self.ed25519_key, self.mldsa_key, self.signature]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MigrateAccount:
        ed25519_key, mldsa_key, signature = fields
        return cls(
            expect_bytes(
                ed25519_key, "migrate_account.ed25519_key", constants.ed25519_public_key_bytes
            ),
            expect_bytes(
                mldsa_key, "migrate_account.mldsa_key", maximum=constants.mldsa65_public_key_bytes
            ),
            expect_bytes(
                signature,
                "migrate_account.signature",
                maximum=constants.ed25519_signature_bytes + constants.mldsa65_signature_bytes,
            ),
        )


@dataclass(frozen=True, slots=True)
class AddNodeKey:
    """Add an ML-DSA-65 key to the sender's node identity (its Ed25519 key stays: it is the
    node id, its TLS certificate and its consensus key). Double-signed like `MigrateAccount`:
    the envelope by the Ed25519 key, `signature` by the pair (Ed25519 key, `mldsa_key`) over
    the node-key statement (`state/keys/rules.py`)."""

    code: ClassVar[int] = 38
    mldsa_key: bytes
    signature: bytes

    def fields(self) -> list[Any]:
        return [self.mldsa_key, self.signature]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> AddNodeKey:
        mldsa_key, signature = fields
        return cls(
            expect_bytes(
                mldsa_key, "add_node_key.mldsa_key", maximum=constants.mldsa65_public_key_bytes
            ),
            expect_bytes(
                signature,
                "add_node_key.signature",
                maximum=constants.ed25519_signature_bytes + constants.mldsa65_signature_bytes,
            ),
        )


@dataclass(frozen=True, slots=True)
class UpgradeStoredApp:
    """The owner's new module for an app, placed in relay storage as blob `root` (`size`
    bytes): a new version, as `UpgradeApp` makes with an inline module. As for
    `DeployStoredApp`, the chain holds no bytes, so the upgrade declares the module's BLAKE3
    hash and its exported functions, and executors check the fetched blob against both."""

    code: ClassVar[int] = 44
    app_id: bytes
    root: bytes
    size: int
    module_hash: bytes
    functions: tuple[str, ...]

    def fields(self) -> list[Any]:
        return [self.app_id, self.root, self.size, self.module_hash, list(self.functions)]

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> UpgradeStoredApp:
        app_id, root, size, module_hash, functions = fields
        return cls(
            _app_id(app_id, "upgrade_stored_app.app_id"),
            expect_bytes(root, "upgrade_stored_app.root", constants.hash_bytes),
            expect_uint(size, "upgrade_stored_app.size"),
            _app_id(module_hash, "upgrade_stored_app.module_hash"),
            _texts(
                functions,
                "upgrade_stored_app.functions",
                constants.app_functions_max,
                constants.app_function_bytes_max,
            ),
        )


Message = (
    Transfer
    | Bond
    | Unbond
    | RegisterValidator
    | FaucetClaim
    | RegisterNode
    | SubmitEvidence
    | CreateDid
    | UpdateDid
    | RotateDidKey
    | DeactivateDid
    | RegisterCredential
    | RevokeCredential
    | SubmitProposal
    | Deposit
    | Vote
    | ExitNode
    | DeployApp
    | UpgradeApp
    | CallApp
    | ScaleApp
    | SubmitLogBlock
    | Unjail
    | OpenDispute
    | ChallengeReceipt
    | RevealReceipt
    | MoveDispute
    | RuleDispute
    | PlaceBlob
    | ReportStorageFault
    | DeployStoredApp
    | DeleteBlob
    | RegisterPolicy
    | DeclareRegion
    | ProveKyc
    | PublishZkIssuer
    | RegisterShadow
    | GrantShadow
    | MigrateAccount
    | AddNodeKey
    | RotateNodeKey
    | UpgradeStoredApp
)
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
        CreateDid,
        UpdateDid,
        RotateDidKey,
        DeactivateDid,
        RegisterCredential,
        RevokeCredential,
        SubmitProposal,
        Deposit,
        Vote,
        ExitNode,
        DeployApp,
        UpgradeApp,
        CallApp,
        ScaleApp,
        PlaceBlob,
        ReportStorageFault,
        DeployStoredApp,
        DeleteBlob,
        SubmitLogBlock,
        Unjail,
        OpenDispute,
        ChallengeReceipt,
        RevealReceipt,
        MoveDispute,
        RuleDispute,
        RegisterPolicy,
        DeclareRegion,
        ProveKyc,
        PublishZkIssuer,
        RegisterShadow,
        GrantShadow,
        MigrateAccount,
        AddNodeKey,
        RotateNodeKey,
        UpgradeStoredApp,
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
    CreateDid: 2,
    UpdateDid: 5,
    RotateDidKey: 3,
    DeactivateDid: 1,
    RegisterCredential: 1,
    RevokeCredential: 2,
    SubmitProposal: 3,
    Deposit: 2,
    PlaceBlob: 6,
    ReportStorageFault: 2,
    DeployStoredApp: 7,
    DeleteBlob: 1,
    Vote: 2,
    ExitNode: 0,
    DeployApp: 4,
    UpgradeApp: 2,
    CallApp: 5,
    ScaleApp: 2,
    SubmitLogBlock: 1,
    Unjail: 0,
    OpenDispute: 4,
    ChallengeReceipt: 3,
    RevealReceipt: 2,
    MoveDispute: 3,
    RuleDispute: 4,
    RegisterPolicy: 3,
    DeclareRegion: 1,
    ProveKyc: 4,
    PublishZkIssuer: 3,
    RegisterShadow: 3,
    GrantShadow: 3,
    MigrateAccount: 3,
    AddNodeKey: 2,
    RotateNodeKey: 4,
    UpgradeStoredApp: 5,
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
