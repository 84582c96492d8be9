"""The genesis document: read from JSON or TOML, every field checked, every error naming it.

File shape (JSON shown; TOML is the same tree; amounts are base units, 9 decimals, as an
integer or a string of digits; keys are hex):

    {"chain_id": "metanode-dev", "chain_kind": "dev", "genesis_time_ms": 0,
     "parameters": {"auth": {"fee_min": 1000, "treasury_fee_bps": 100},
                    "staking": {"unbonding_delay_blocks": 100, "validators_max": 100},
                    "faucet": {"enabled": true, "request_coins_max": 100000,
                               "daily_coins_max": 1000000, "cooldown_ms": 3600000}},
     "accounts": [{"address": "mn1…", "balances": {"FLX": "5000000000"}, "nonce": 0}],
     "validators": [{"public_key": "…", "bls_public_key": "…",
                     "bls_proof_of_possession": "…", "vrf_public_key": "…",
                     "stake": "1000000000000"}],
     "delegations": [{"delegator": "mn1…", "validator": "mn1…", "amount": "…"}],
     "unbondings": [{"delegator": "mn1…", "amount": "…", "completion_height": 5}]}

Rules: unknown fields are refused (a typo must not pass silently); `parameters` and each of its
sections may be left out (defaults below); `treasury_fee_bps`, the treasury's share of fees in
basis points, defaults to the chain kind's (dev 0, testnet 100, mainnet 500); the faucet may be
enabled only on `dev` and `testnet` chains and is enabled there by default; staking's pool
accounts may not be listed (the treasury may); every validator's proof of possession is
verified; at least one validator needs one whole GEN of stake; each denomination's total fits
in uint64; a chain id of the form `metanode-<kind>` or `metanode-<kind>-…` belongs to chains of
that kind only. Every failure is a `ConfigError` whose message starts with the field's path
(`accounts[3].balances.GEN: …`). Lists are kept sorted (accounts and validators by address,
delegations by delegator then validator) so that a document, its state and its export agree.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from metanode.codec import encode, tags
from metanode.crypto import bls
from metanode.crypto.hashing import tagged_hash
from metanode.errors import ConfigError
from metanode.state import constants
from metanode.state.apps.genesis import AppsGenesis
from metanode.state.apps.genesis import from_json as apps_from_json
from metanode.state.apps.genesis import to_json as apps_json
from metanode.state.apps.genesis import to_wire as apps_wire
from metanode.state.auth.params import TREASURY_FEE_BPS_BY_KIND, AuthParams
from metanode.state.bank.accounts import POOL_ADDRESSES
from metanode.state.bank.genesis import GenesisAccount
from metanode.state.court.params import DEFAULT as COURT_DEFAULT
from metanode.state.court.params import CourtParams
from metanode.state.faucet.records import FaucetParams
from metanode.state.genesis.chain import KINDS
from metanode.state.genesis.fields import (
    address as _address,
)
from metanode.state.genesis.fields import (
    boolean as _bool,
)
from metanode.state.genesis.fields import (
    enum_member as _enum,
)
from metanode.state.genesis.fields import (
    fail as _fail,
)
from metanode.state.genesis.fields import (
    hex_bytes as _hex,
)
from metanode.state.genesis.fields import (
    listed as _list,
)
from metanode.state.genesis.fields import (
    name as _name,
)
from metanode.state.genesis.fields import ranged_params
from metanode.state.genesis.fields import (
    table as _table,
)
from metanode.state.genesis.fields import (
    uint as _uint,
)
from metanode.state.governance.genesis import GovernanceGenesis
from metanode.state.governance.genesis import from_json as governance_from_json
from metanode.state.governance.genesis import to_json as governance_json
from metanode.state.identity.genesis import IdentityGenesis
from metanode.state.identity.genesis import from_json as identity_from_json
from metanode.state.identity.genesis import to_json as identity_json
from metanode.state.keys.genesis import KeysRecords
from metanode.state.keys.genesis import from_json as keys_records_from_json
from metanode.state.keys.genesis import to_json as keys_records_json
from metanode.state.keys.params import DEFAULT as KEYS_DEFAULT
from metanode.state.keys.params import KeysParams
from metanode.state.poe.params import DEFAULT as POE_DEFAULT
from metanode.state.poe.params import PoeParams
from metanode.state.privacy.params import DEFAULT as PRIVACY_DEFAULT
from metanode.state.privacy.params import PrivacyParams
from metanode.state.registry.downtime import SigningWindow
from metanode.state.registry.genesis import RegistryGenesis
from metanode.state.registry.messages import check_did, check_p2p_address
from metanode.state.registry.records import (
    DEFAULT_ROLE_MIN_STAKE,
    DEFAULT_TYPES,
    IdentityLevel,
    NodeRecord,
    RegistryParams,
    Status,
    TypeParams,
    params_to_wire,
)
from metanode.state.staking.genesis import (
    GenesisDelegation,
    GenesisUnbonding,
    GenesisValidator,
    StakingGenesis,
)
from metanode.state.staking.records import StakingParams
from metanode.state.storage.params import DEFAULT as STORAGE_DEFAULT
from metanode.state.storage.params import StorageParams
from metanode.types import Address, Denom, NodeType, Role
from metanode.types import constants as types_constants


@dataclass(frozen=True, slots=True)
class GenesisDocument:
    chain_id: str
    chain_kind: str
    genesis_time_ms: int
    auth: AuthParams
    faucet: FaucetParams
    staking: StakingGenesis
    accounts: tuple[GenesisAccount, ...] = field(default=())
    registry: RegistryGenesis = field(default_factory=RegistryGenesis)
    identity: IdentityGenesis = field(default_factory=IdentityGenesis)
    governance: GovernanceGenesis = field(default_factory=GovernanceGenesis)
    apps: AppsGenesis = field(default_factory=AppsGenesis)
    poe: PoeParams = POE_DEFAULT
    court: CourtParams = COURT_DEFAULT
    privacy: PrivacyParams = PRIVACY_DEFAULT
    storage: StorageParams = STORAGE_DEFAULT
    keys: KeysParams = KEYS_DEFAULT
    key_records: KeysRecords = field(default_factory=KeysRecords)

    def to_wire(self) -> list[Any]:
        staking = self.staking
        return [
            1,
            self.chain_id,
            self.chain_kind,
            self.genesis_time_ms,
            [self.auth.fee_min, self.auth.treasury_fee_bps],
            [
                int(self.faucet.enabled),
                self.faucet.request_coins_max,
                self.faucet.daily_coins_max,
                self.faucet.cooldown_ms,
            ],
            [
                staking.params.unbonding_delay_blocks,
                staking.params.validators_max,
                staking.params.epoch_blocks,
            ],
            [[a.address.raw, list(a.balances), a.nonce] for a in self.accounts],
            [
                [
                    v.public_key,
                    v.bls_public_key,
                    v.bls_proof_of_possession,
                    v.vrf_public_key,
                    v.stake,
                ]
                for v in staking.validators
            ],
            [[d.delegator.raw, d.validator.raw, d.amount] for d in staking.delegations],
            [[u.delegator.raw, u.amount, u.completion_height] for u in staking.unbondings],
            [[address.raw, height] for address, height in staking.jailed],
            [[address.raw, height] for address, height in staking.retired],
            _registry_wire(self.registry),
            self.identity.to_wire(),
            self.governance.to_wire(),
            apps_wire(self.apps),
            self.poe.to_wire(),
            self.court.to_wire(),
            self.privacy.to_wire(),
            self.storage.to_wire(),
            self.keys.to_wire(),
            # Only when there are any, so that documents without them keep their hash.
            *([self.key_records.to_wire()] if self.key_records else []),
        ]

    def hash(self) -> bytes:
        """The genesis hash: block 1's `previous_hash`, and what a node checks on reopen."""
        return tagged_hash(tags.GENESIS, encode(self.to_wire()))

    def to_json(self) -> str:
        """The document as a file `parse_genesis` reads back to an equal document."""
        staking = self.staking
        tree = {
            "chain_id": self.chain_id,
            "chain_kind": self.chain_kind,
            "genesis_time_ms": self.genesis_time_ms,
            "parameters": {
                "auth": {
                    "fee_min": self.auth.fee_min,
                    "treasury_fee_bps": self.auth.treasury_fee_bps,
                },
                "staking": {
                    "unbonding_delay_blocks": staking.params.unbonding_delay_blocks,
                    "validators_max": staking.params.validators_max,
                    "epoch_blocks": staking.params.epoch_blocks,
                },
                "registry": _registry_params_json(self.registry.params),
                "faucet": {
                    "enabled": self.faucet.enabled,
                    "request_coins_max": self.faucet.request_coins_max,
                    "daily_coins_max": self.faucet.daily_coins_max,
                    "cooldown_ms": self.faucet.cooldown_ms,
                },
                "poe": dict(zip(PoeParams.RANGES, self.poe.to_wire(), strict=True)),
                "court": dict(zip(CourtParams.RANGES, self.court.to_wire(), strict=True)),
                "privacy": dict(zip(PrivacyParams.RANGES, self.privacy.to_wire(), strict=True)),
                "storage": dict(zip(StorageParams.RANGES, self.storage.to_wire(), strict=True)),
                "keys": dict(zip(KeysParams.RANGES, self.keys.to_wire(), strict=True)),
            },
            "accounts": [
                {
                    "address": str(a.address),
                    "balances": {
                        d.name: str(a.balances[d - 1]) for d in Denom if a.balances[d - 1]
                    },
                    "nonce": a.nonce,
                }
                for a in self.accounts
            ],
            "validators": [
                {
                    "public_key": v.public_key.hex(),
                    "bls_public_key": v.bls_public_key.hex(),
                    "bls_proof_of_possession": v.bls_proof_of_possession.hex(),
                    "vrf_public_key": v.vrf_public_key.hex(),
                    "stake": str(v.stake),
                }
                for v in staking.validators
            ],
            "delegations": [
                {
                    "delegator": str(d.delegator),
                    "validator": str(d.validator),
                    "amount": str(d.amount),
                }
                for d in staking.delegations
            ],
            "unbondings": [
                {
                    "delegator": str(u.delegator),
                    "amount": str(u.amount),
                    "completion_height": u.completion_height,
                }
                for u in staking.unbondings
            ],
            "jailed": [
                {"validator": str(address), "height": height} for address, height in staking.jailed
            ],
            "retired": [
                {"validator": str(address), "height": height} for address, height in staking.retired
            ],
            "nodes": [_node_json(record) for record in self.registry.nodes],
            "used_evidence": [
                {"hash": digest.hex(), "height": height}
                for digest, height in self.registry.used_evidence
            ],
            "signing_windows": [
                {
                    "validator": str(address),
                    "counted": window.counted,
                    "missed": window.missed,
                    "bitmap": window.bitmap.hex(),
                }
                for address, window in self.registry.signing
            ],
            "downtime_jailed": [
                {"validator": str(address), "height": height}
                for address, height in self.registry.downtime_jailed
            ],
            "identity": identity_json(self.identity),
            "governance": governance_json(self.governance),
            "apps": apps_json(self.apps),
            **({"keys": keys_records_json(self.key_records)} if self.key_records else {}),
        }
        return json.dumps(tree, indent=2) + "\n"


def load_genesis(path: str | PurePath, text: str) -> GenesisDocument:
    """Parse the genesis file at `path` (its contents `text`), JSON or TOML by its suffix."""
    suffix = PurePath(path).suffix.lower()
    if suffix not in (".json", ".toml"):
        raise ConfigError(f"genesis file {path}: the name must end in .json or .toml")
    return parse_genesis(text, "toml" if suffix == ".toml" else "json")


def parse_genesis(text: str, file_format: str = "json") -> GenesisDocument:
    if len(text) > constants.genesis_bytes_max:
        raise ConfigError(f"genesis: the file is larger than {constants.genesis_bytes_max} bytes")
    try:
        tree = tomllib.loads(text) if file_format == "toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ConfigError(f"genesis: not valid {file_format.upper()}: {error}") from None
    return from_tree(tree)


def _parameters(tree: dict[str, Any], kind: str) -> tuple[AuthParams, StakingParams, FaucetParams]:
    sections = _table(
        tree.get("parameters", {}),
        "parameters",
        {"auth", "staking", "faucet", "registry", "poe", "court", "privacy", "storage", "keys"},
        set(),
    )
    auth_tree = _table(
        sections.get("auth", {}), "parameters.auth", {"fee_min", "treasury_fee_bps"}, set()
    )
    auth = AuthParams(
        _uint(auth_tree.get("fee_min", AuthParams().fee_min), "parameters.auth.fee_min"),
        _uint(
            auth_tree.get("treasury_fee_bps", TREASURY_FEE_BPS_BY_KIND[kind]),
            "parameters.auth.treasury_fee_bps",
            constants.basis_points,
        ),
    )
    staking_tree = _table(
        sections.get("staking", {}),
        "parameters.staking",
        {"unbonding_delay_blocks", "validators_max", "epoch_blocks"},
        set(),
    )
    delay = _uint(
        staking_tree.get("unbonding_delay_blocks", StakingParams().unbonding_delay_blocks),
        "parameters.staking.unbonding_delay_blocks",
        constants.unbonding_delay_blocks_max,
    )
    if delay == 0:
        raise _fail("parameters.staking.unbonding_delay_blocks", "must be at least 1")
    seats = _uint(
        staking_tree.get("validators_max", StakingParams().validators_max),
        "parameters.staking.validators_max",
        constants.validators_max,
    )
    if seats == 0:
        raise _fail("parameters.staking.validators_max", "must be at least 1")
    epoch = _uint(
        staking_tree.get("epoch_blocks", StakingParams().epoch_blocks),
        "parameters.staking.epoch_blocks",
        constants.epoch_blocks_max,
    )
    if epoch == 0:
        raise _fail("parameters.staking.epoch_blocks", "must be at least 1")
    faucet_tree = _table(
        sections.get("faucet", {}),
        "parameters.faucet",
        {"enabled", "request_coins_max", "daily_coins_max", "cooldown_ms"},
        set(),
    )
    enabled = _bool(faucet_tree.get("enabled", kind != "mainnet"), "parameters.faucet.enabled")
    if enabled and kind == "mainnet":
        raise _fail("parameters.faucet.enabled", "the faucet runs only on dev and testnet chains")
    request = _uint(
        faucet_tree.get("request_coins_max", constants.faucet_request_coins_max),
        "parameters.faucet.request_coins_max",
        constants.faucet_request_coins_max,
    )
    if request == 0:
        raise _fail("parameters.faucet.request_coins_max", "must be at least 1")
    daily = _uint(
        faucet_tree.get("daily_coins_max", constants.faucet_daily_coins_max),
        "parameters.faucet.daily_coins_max",
        constants.faucet_daily_coins_max,
    )
    if daily < request:
        raise _fail(
            "parameters.faucet.daily_coins_max", f"must be at least request_coins_max ({request})"
        )
    cooldown = _uint(
        faucet_tree.get("cooldown_ms", constants.faucet_cooldown_ms),
        "parameters.faucet.cooldown_ms",
        constants.day_ms,
    )
    return (
        auth,
        StakingParams(delay, seats, epoch),
        FaucetParams(enabled, request, daily, cooldown),
    )


def _accounts(tree: dict[str, Any]) -> tuple[GenesisAccount, ...]:
    entries = _list(tree.get("accounts", []), "accounts", constants.genesis_accounts_max)
    accounts: dict[Address, GenesisAccount] = {}
    for index, entry in enumerate(entries):
        path = f"accounts[{index}]"
        item = _table(entry, path, {"address", "balances", "nonce"}, {"address"})
        address = _address(item["address"], f"{path}.address")
        if address in POOL_ADDRESSES:
            raise _fail(f"{path}.address", "is a staking pool; its balance follows the stakes")
        if address in accounts:
            raise _fail(f"{path}.address", f"{address} appears twice")
        balances_tree = _table(
            item.get("balances", {}), f"{path}.balances", {d.name for d in Denom}, set()
        )
        balances = [0, 0, 0, 0]
        for name, amount in balances_tree.items():
            balances[Denom[name] - 1] = _uint(amount, f"{path}.balances.{name}")
        nonce = _uint(item.get("nonce", 0), f"{path}.nonce")
        accounts[address] = GenesisAccount(
            address, (balances[0], balances[1], balances[2], balances[3]), nonce
        )
    return tuple(accounts[address] for address in sorted(accounts))


def _node_keys(item: dict[str, Any], path: str) -> tuple[bytes, bytes, bytes, bytes]:
    """A validator's or node's four keys: Ed25519, BLS, its proof of possession, VRF."""
    public_key = _hex(
        item["public_key"], f"{path}.public_key", types_constants.ed25519_public_key_bytes
    )
    bls_key = _hex(
        item["bls_public_key"], f"{path}.bls_public_key", types_constants.bls_public_key_bytes
    )
    pop = _hex(
        item["bls_proof_of_possession"],
        f"{path}.bls_proof_of_possession",
        types_constants.bls_signature_bytes,
    )
    vrf_key = _hex(
        item["vrf_public_key"],
        f"{path}.vrf_public_key",
        types_constants.ed25519_public_key_bytes,
    )
    return public_key, bls_key, pop, vrf_key


def _validators(tree: dict[str, Any], key_records: KeysRecords) -> tuple[GenesisValidator, ...]:
    entries = _list(tree.get("validators"), "validators", constants.genesis_validators_max)
    validators: dict[Address, GenesisValidator] = {}
    bls_keys: set[bytes] = set()
    fields = {"public_key", "bls_public_key", "bls_proof_of_possession", "vrf_public_key"}
    for index, entry in enumerate(entries):
        path = f"validators[{index}]"
        item = _table(entry, path, {*fields, "stake"}, fields)
        public_key, bls_key, pop, vrf_key = _node_keys(item, path)
        stake = _uint(item.get("stake", 0), f"{path}.stake")
        identity = key_records.identity_of(public_key)
        rotated = identity != Address.from_public_key(public_key)
        validator = GenesisValidator(
            public_key, bls_key, pop, vrf_key, stake, identity if rotated else None
        )
        if validator.address in validators:
            raise _fail(f"{path}.public_key", "the same validator appears twice")
        if bls_key in bls_keys:
            raise _fail(f"{path}.bls_public_key", "already used by another validator")
        if not bls.pop_is_valid(bls_key, pop):
            raise _fail(
                f"{path}.bls_proof_of_possession", "does not prove possession of bls_public_key"
            )
        bls_keys.add(bls_key)
        validators[validator.address] = validator
    return tuple(validators[address] for address in sorted(validators))


def _delegations(tree: dict[str, Any], validators: set[Address]) -> tuple[GenesisDelegation, ...]:
    entries = _list(tree.get("delegations", []), "delegations", constants.genesis_accounts_max)
    delegations: dict[tuple[Address, Address], GenesisDelegation] = {}
    for index, entry in enumerate(entries):
        path = f"delegations[{index}]"
        item = _table(
            entry, path, {"delegator", "validator", "amount"}, {"delegator", "validator", "amount"}
        )
        delegator = _address(item["delegator"], f"{path}.delegator")
        validator = _address(item["validator"], f"{path}.validator")
        if validator not in validators:
            raise _fail(f"{path}.validator", f"{validator} is not among the validators")
        if delegator == validator:
            raise _fail(f"{path}.delegator", "a validator's own stake goes in validators[].stake")
        amount = _uint(item["amount"], f"{path}.amount")
        if amount == 0:
            raise _fail(f"{path}.amount", "must not be zero")
        if (delegator, validator) in delegations:
            raise _fail(path, "the same delegator and validator appear twice")
        delegations[delegator, validator] = GenesisDelegation(delegator, validator, amount)
    return tuple(delegations[pair] for pair in sorted(delegations))


def _unbondings(tree: dict[str, Any]) -> tuple[GenesisUnbonding, ...]:
    entries = _list(tree.get("unbondings", []), "unbondings", constants.genesis_accounts_max)
    unbondings = []
    per_height: dict[int, int] = {}
    for index, entry in enumerate(entries):
        path = f"unbondings[{index}]"
        required = {"delegator", "amount", "completion_height"}
        item = _table(entry, path, required, required)
        delegator = _address(item["delegator"], f"{path}.delegator")
        amount = _uint(item["amount"], f"{path}.amount")
        if amount == 0:
            raise _fail(f"{path}.amount", "must not be zero")
        height = _uint(item["completion_height"], f"{path}.completion_height")
        if height == 0:
            raise _fail(f"{path}.completion_height", "must be at least 1")
        per_height[height] = per_height.get(height, 0) + 1
        if per_height[height] > constants.unbondings_per_height_max:
            raise _fail(path, f"more than {constants.unbondings_per_height_max} at one height")
        unbondings.append(GenesisUnbonding(delegator, amount, height))
    unbondings.sort(key=lambda entry: entry.completion_height)  # stable: file order per height
    return tuple(unbondings)


def kind_named_by(chain_id: str) -> str | None:
    """The kind a chain id claims: `metanode-<kind>` and `metanode-<kind>-…` are reserved for
    chains of that kind (what `metanode init` writes); any other id claims none."""
    for kind in KINDS:
        if chain_id == f"metanode-{kind}" or chain_id.startswith(f"metanode-{kind}-"):
            return kind
    return None


def _marked(
    tree: dict[str, Any], name: str, validators: set[Address]
) -> tuple[tuple[Address, int], ...]:
    """`jailed`, `retired` or `downtime_jailed`: validators with the height they were marked
    at (for `downtime_jailed`, the height from which they may unjail)."""
    entries = _list(tree.get(name, []), name, constants.genesis_validators_max)
    marked: dict[Address, int] = {}
    for index, entry in enumerate(entries):
        path = f"{name}[{index}]"
        item = _table(entry, path, {"validator", "height"}, {"validator", "height"})
        address = _address(item["validator"], f"{path}.validator")
        if address not in validators or address in marked:
            raise _fail(f"{path}.validator", f"{address} is not a validator, or appears twice")
        marked[address] = _uint(item["height"], f"{path}.height")
    return tuple(sorted(marked.items()))


def _registry_params_json(params: RegistryParams) -> dict[str, Any]:
    return {
        "slash_fraction_bps": params.slash_fraction_bps,
        "slash_to_treasury": params.slash_to_treasury,
        "evidence_age_blocks_max": params.evidence_age_blocks_max,
        **{name: getattr(params, name) for name in COUNT_PARAMS},
        "role_min_stake": {_name(role): str(amount) for role, amount in params.role_min_stake},
        "node_types": {
            _name(node_type): {
                "min_stake": str(entry.min_stake),
                "identity_level": _name(entry.identity_level),
                "trust_score_min": entry.trust_score_min,
                "power_divisor": entry.power_divisor,
                "roles": [_name(role) for role in entry.roles],
            }
            for node_type, entry in params.types
        },
    }


def _registry_params(value: Any) -> RegistryParams:
    path = "parameters.registry"
    tree = _table(
        value,
        path,
        {
            "slash_fraction_bps",
            "slash_to_treasury",
            "evidence_age_blocks_max",
            "role_min_stake",
            "node_types",
            *COUNT_PARAMS,
        },
        set(),
    )
    defaults = RegistryParams()
    minimums_tree = _table(
        tree.get("role_min_stake", {}), f"{path}.role_min_stake", {_name(r) for r in Role}, set()
    )
    minimums = tuple(
        (
            role,
            _uint(minimums_tree.get(_name(role), amount), f"{path}.role_min_stake.{_name(role)}"),
        )
        for role, amount in DEFAULT_ROLE_MIN_STAKE.items()
    )
    types_tree = _table(
        tree.get("node_types", {}), f"{path}.node_types", {_name(t) for t in NodeType}, set()
    )
    types = []
    fields = {"min_stake", "identity_level", "trust_score_min", "power_divisor", "roles"}
    for node_type, default in DEFAULT_TYPES.items():
        where = f"{path}.node_types.{_name(node_type)}"
        item = _table(types_tree.get(_name(node_type), {}), where, fields, set())
        roles_value = _list(
            item.get("roles", [_name(r) for r in default.roles]), f"{where}.roles", len(Role)
        )
        roles = sorted({_enum(Role, role, f"{where}.roles") for role in roles_value})
        if not roles:
            raise _fail(f"{where}.roles", "a node type needs at least one role")
        level = item.get("identity_level", _name(default.identity_level))
        types.append(
            (
                node_type,
                TypeParams(
                    _uint(item.get("min_stake", default.min_stake), f"{where}.min_stake"),
                    _enum(IdentityLevel, level, f"{where}.identity_level"),
                    _uint(item.get("trust_score_min", 0), f"{where}.trust_score_min"),
                    _uint(
                        item.get("power_divisor", default.power_divisor), f"{where}.power_divisor"
                    ),
                    tuple(roles),
                ),
            )
        )
    bps = _uint(
        tree.get("slash_fraction_bps", defaults.slash_fraction_bps),
        f"{path}.slash_fraction_bps",
        constants.basis_points,
    )
    age = _uint(
        tree.get("evidence_age_blocks_max", defaults.evidence_age_blocks_max),
        f"{path}.evidence_age_blocks_max",
        constants.evidence_age_blocks_max,
    )
    if age == 0:
        raise _fail(f"{path}.evidence_age_blocks_max", "must be at least 1")
    to_treasury = _bool(
        tree.get("slash_to_treasury", defaults.slash_to_treasury), f"{path}.slash_to_treasury"
    )
    counts = []
    for name in COUNT_PARAMS:
        low, high = RegistryParams.RANGES[name]
        value = _uint(tree.get(name, getattr(defaults, name)), f"{path}.{name}", high)
        if value < low:
            raise _fail(f"{path}.{name}", f"must be at least {low}")
        counts.append(value)
    return RegistryParams(tuple(types), minimums, bps, to_treasury, age, *counts)


# The missed-commit (state/registry/downtime.py) and inclusion-list (omission.py) parameters,
# in RegistryParams's order.
COUNT_PARAMS = (
    "signed_blocks_window",
    "min_signed_per_window_bps",
    "downtime_jail_blocks",
    "downtime_slash_fraction_bps",
    "inclusion_wait_blocks",
    "inclusion_obligation_blocks",
    "inclusion_omissions_to_slash",
)


def _node_json(record: NodeRecord) -> dict[str, Any]:
    return {
        "node_type": _name(record.node_type),
        "roles": [_name(role) for role in record.roles],
        "public_key": record.public_key.hex(),
        "bls_public_key": record.bls_public_key.hex(),
        "bls_proof_of_possession": record.bls_proof_of_possession.hex(),
        "vrf_public_key": record.vrf_public_key.hex(),
        "p2p_address": record.p2p_address,
        "did": record.did,
        "stake": str(record.stake),
        "status": _name(record.status),
        "registered_height": record.registered_height,
        "exit_height": record.exit_height,
    }


def _nodes(
    tree: dict[str, Any], validators: tuple[GenesisValidator, ...], key_records: KeysRecords
) -> tuple[NodeRecord, ...]:
    """Genesis nodes are trusted as written: identity levels are not checked here (the first
    bank and government authorities can only come from genesis)."""
    entries = _list(tree.get("nodes", []), "nodes", constants.registry_nodes_max)
    by_address = {v.address: v for v in validators}
    bls_keys = {v.bls_public_key for v in validators}
    records: dict[Address, NodeRecord] = {}
    keys_fields = {"public_key", "bls_public_key", "bls_proof_of_possession", "vrf_public_key"}
    other = {
        "node_type",
        "roles",
        "p2p_address",
        "did",
        "stake",
        "status",
        "registered_height",
        "exit_height",
    }
    for index, entry in enumerate(entries):
        path = f"nodes[{index}]"
        item = _table(
            entry,
            path,
            keys_fields | other,
            keys_fields | {"node_type", "roles", "p2p_address", "did"},
        )
        node_type = _enum(NodeType, item["node_type"], f"{path}.node_type")
        roles = tuple(
            sorted(
                {
                    _enum(Role, r, f"{path}.roles")
                    for r in _list(item["roles"], f"{path}.roles", len(Role))
                }
            )
        )
        # Governance may remove an authority's one role (its record stays): only then is the
        # list empty.
        if not roles and node_type not in (NodeType.BANK, NodeType.GOVERNMENT):
            raise _fail(f"{path}.roles", "a node needs at least one role")
        public_key, bls_key, pop, vrf_key = _node_keys(item, path)
        p2p_address = item["p2p_address"]
        if (
            not isinstance(p2p_address, str)
            or not check_p2p_address(p2p_address)
            or len(p2p_address.encode()) > types_constants.p2p_address_bytes_max
        ):
            raise _fail(f"{path}.p2p_address", "must be host:port")
        did = item["did"]
        if (
            not isinstance(did, str)
            or not check_did(did)
            or len(did.encode()) > types_constants.did_bytes_max
        ):
            raise _fail(f"{path}.did", "must be a DID (did:method:id)")
        record = NodeRecord(
            node_type,
            roles,
            public_key,
            bls_key,
            pop,
            vrf_key,
            p2p_address,
            did,
            _uint(item.get("stake", 0), f"{path}.stake"),
            _enum(Status, item.get("status", "active"), f"{path}.status"),
            _uint(item.get("registered_height", 0), f"{path}.registered_height"),
            _uint(item.get("exit_height", 0), f"{path}.exit_height"),
        )
        leaving = record.status in (Status.UNBONDING, Status.EXITED)
        if (record.exit_height == 0 and leaving) or (
            record.exit_height and (record.status is Status.JAILED or record.stake)
        ):
            raise _fail(
                f"{path}.exit_height",
                "unbonding and exited nodes need one; a node with one holds no stake and is not "
                "jailed (its stake is among unbondings[])",
            )
        address = key_records.identity_of(public_key)
        if address in records:
            raise _fail(f"{path}.public_key", "the same node appears twice")
        if record.is_validator:
            validator = by_address.get(address)
            if validator is None or validator.bls_public_key != bls_key:
                raise _fail(
                    f"{path}.public_key",
                    "a validator node must be among validators[] with the same keys",
                )
            if record.stake:
                raise _fail(f"{path}.stake", "a validator node's stake goes in validators[].stake")
        else:
            if bls_key in bls_keys:
                raise _fail(f"{path}.bls_public_key", "already used by another node or validator")
            if not bls.pop_is_valid(bls_key, pop):
                raise _fail(
                    f"{path}.bls_proof_of_possession", "does not prove possession of bls_public_key"
                )
            bls_keys.add(bls_key)
        records[address] = record
    return tuple(records[address] for address in sorted(records))


def _used_evidence(tree: dict[str, Any]) -> tuple[tuple[bytes, int], ...]:
    entries = _list(tree.get("used_evidence", []), "used_evidence", constants.genesis_accounts_max)
    used: dict[bytes, int] = {}
    for index, entry in enumerate(entries):
        path = f"used_evidence[{index}]"
        item = _table(entry, path, {"hash", "height"}, {"hash", "height"})
        used[_hex(item["hash"], f"{path}.hash", types_constants.hash_bytes)] = _uint(
            item["height"], f"{path}.height"
        )
    return tuple(sorted(used.items()))


def _signing_windows(
    tree: dict[str, Any], window: int
) -> tuple[tuple[Address, SigningWindow], ...]:
    entries = _list(
        tree.get("signing_windows", []), "signing_windows", constants.genesis_accounts_max
    )
    found: dict[Address, SigningWindow] = {}
    for index, entry in enumerate(entries):
        path = f"signing_windows[{index}]"
        fields = {"validator", "counted", "missed", "bitmap"}
        item = _table(entry, path, fields, fields)
        bitmap = _hex(item["bitmap"], f"{path}.bitmap", (window + 7) // 8)
        missed = _uint(item["missed"], f"{path}.missed")
        if sum(bin(byte).count("1") for byte in bitmap) != missed:
            raise _fail(f"{path}.missed", "must count the bitmap's set bits")
        found[_address(item["validator"], f"{path}.validator")] = SigningWindow(
            _uint(item["counted"], f"{path}.counted"), missed, bitmap
        )
    return tuple(sorted(found.items()))


def _registry_wire(registry: RegistryGenesis) -> list[Any]:
    return [
        params_to_wire(registry.params),
        [record.to_wire() for record in registry.nodes],
        [[digest, height] for digest, height in registry.used_evidence],
        [[address.raw, *window.to_wire()] for address, window in registry.signing],
        [[address.raw, height] for address, height in registry.downtime_jailed],
    ]


def from_tree(tree: Any) -> GenesisDocument:
    """Check a parsed JSON/TOML tree and build the document."""
    top = {
        "chain_id",
        "chain_kind",
        "genesis_time_ms",
        "parameters",
        "accounts",
        "validators",
        "delegations",
        "unbondings",
        "jailed",
        "retired",
        "nodes",
        "used_evidence",
        "signing_windows",
        "downtime_jailed",
        "identity",
        "governance",
        "apps",
        "keys",
    }
    root = _table(tree, "", top, {"chain_id", "chain_kind", "validators"})
    chain_id = root["chain_id"]
    if (
        not isinstance(chain_id, str)
        or not chain_id
        or len(chain_id.encode()) > types_constants.chain_id_bytes_max
        or not chain_id.isprintable()
    ):
        raise _fail(
            "chain_id", f"must be printable text of 1..{types_constants.chain_id_bytes_max} bytes"
        )
    kind = root["chain_kind"]
    if kind not in KINDS:
        raise _fail("chain_kind", f"must be one of {', '.join(KINDS)}, got {kind!r}")
    named = kind_named_by(chain_id)
    if named is not None and named != kind:
        raise _fail(
            "chain_id",
            f"{chain_id!r} names a {named} chain, but chain_kind is {kind!r} (signatures are "
            "bound to the chain id, so chains of two kinds must never share one)",
        )
    genesis_time_ms = _uint(root.get("genesis_time_ms", 0), "genesis_time_ms")
    auth, staking_params, faucet = _parameters(root, kind)
    accounts = _accounts(root)
    key_records = keys_records_from_json(root.get("keys", {}))
    validators = _validators(root, key_records)
    delegations = _delegations(root, {v.address for v in validators})
    unbondings = _unbondings(root)
    jailed = _marked(root, "jailed", {v.address for v in validators})
    retired = _marked(root, "retired", {v.address for v in validators})
    registry_params = _registry_params(root.get("parameters", {}).get("registry", {}))
    registry = RegistryGenesis(
        registry_params,
        _nodes(root, validators, key_records),
        _used_evidence(root),
        _signing_windows(root, registry_params.signed_blocks_window),
        _marked(root, "downtime_jailed", {v.address for v in validators}),
    )
    for index, record in enumerate(registry.nodes):
        address = key_records.identity_of(record.public_key)
        if record.is_validator and bool(record.exit_height) != (address in dict(retired)):
            raise _fail(
                f"nodes[{index}].exit_height",
                f"a validator node is in retired[] exactly when it is leaving ({address})",
            )
    out = {address for address, _height in (*jailed, *retired)}
    stakes = {v.address: v.stake for v in validators if v.address not in out}
    for delegation in delegations:
        if delegation.validator in stakes:
            stakes[delegation.validator] += delegation.amount
    if not any(stake >= constants.base_units_per_coin for stake in stakes.values()):
        raise _fail(
            "validators", "at least one validator neither jailed nor retired needs a whole GEN"
        )
    totals = [sum(a.balances[i] for a in accounts) for i in range(4)]
    totals[Denom.GEN - 1] += sum(v.stake for v in validators)
    totals[Denom.GEN - 1] += sum(d.amount for d in delegations)
    totals[Denom.GEN - 1] += sum(u.amount for u in unbondings)
    totals[Denom.GEN - 1] += sum(node.stake for node in registry.nodes)
    governance = governance_from_json(root.get("governance", {}))
    totals[Denom.GEN - 1] += sum(amount for _, _, amount in governance.deposits)
    for denom in Denom:
        if totals[denom - 1] > constants.supply_max:
            raise _fail("accounts", f"total {denom.name} is {totals[denom - 1]}, above uint64")
    return GenesisDocument(
        chain_id,
        kind,
        genesis_time_ms,
        auth,
        faucet,
        StakingGenesis(staking_params, validators, delegations, unbondings, jailed, retired),
        accounts,
        registry,
        identity_from_json(root.get("identity", {})),
        governance,
        apps_from_json(root.get("apps", {})),
        ranged_params(PoeParams, root.get("parameters", {}).get("poe", {}), "parameters.poe"),
        ranged_params(CourtParams, root.get("parameters", {}).get("court", {}), "parameters.court"),
        ranged_params(
            PrivacyParams, root.get("parameters", {}).get("privacy", {}), "parameters.privacy"
        ),
        ranged_params(
            StorageParams, root.get("parameters", {}).get("storage", {}), "parameters.storage"
        ),
        ranged_params(KeysParams, root.get("parameters", {}).get("keys", {}), "parameters.keys"),
        key_records,
    )
