"""The closed list of parameters a governance proposal may change, each with the module that
owns it. A proposed value is checked against the owning module's own ranges (`RANGES` on its
parameters class, which its constructor checks too), so governance can never write a value the
module would refuse, and never writes a key of its own choosing: a change names a `Parameter`,
and only the field that names is replaced.

Numbers are stored in proposals: never reuse or renumber one.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from metanode.state.auth import params as auth_params
from metanode.state.codes import OK
from metanode.state.court import params as court_params
from metanode.state.governance import errors
from metanode.state.governance import records as governance_records
from metanode.state.keys import params as keys_params
from metanode.state.poe import params as poe_params
from metanode.state.privacy import params as privacy_params
from metanode.state.registry import records as registry_records
from metanode.state.staking import records as staking_records
from metanode.state.staking import rules as staking_rules
from metanode.state.storage import params as storage_params
from metanode.state.view import Overlay, StateReader


class Parameter(enum.IntEnum):
    STAKING_EPOCH_BLOCKS = 1
    STAKING_UNBONDING_DELAY_BLOCKS = 2
    STAKING_VALIDATORS_MAX = 3
    AUTH_FEE_MIN = 4
    AUTH_TREASURY_FEE_BPS = 5
    REGISTRY_SLASH_FRACTION_BPS = 6
    REGISTRY_EVIDENCE_AGE_BLOCKS_MAX = 7
    GOVERNANCE_MIN_DEPOSIT = 8
    GOVERNANCE_MIN_INITIAL_DEPOSIT_BPS = 9
    GOVERNANCE_DEPOSIT_PERIOD_BLOCKS = 10
    GOVERNANCE_VOTING_PERIOD_BLOCKS = 11
    GOVERNANCE_QUORUM_BPS = 12
    GOVERNANCE_THRESHOLD_BPS = 13
    GOVERNANCE_VETO_THRESHOLD_BPS = 14
    POE_WEIGHT_CPU_BPS = 15
    POE_WEIGHT_MEMORY_BPS = 16
    POE_WEIGHT_STORAGE_BPS = 17
    POE_WEIGHT_EGRESS_BPS = 18
    POE_WEIGHT_RECEIPTS_BPS = 19
    POE_SCALE_CPU_MS = 20
    POE_SCALE_MEMORY_MB_S = 21
    POE_SCALE_STORAGE_GB_DAY = 22
    POE_SCALE_EGRESS_MB = 23
    POE_SCALE_RECEIPTS = 24
    POE_REWARD_COINS = 25
    POE_ADJUSTMENT_PPM = 26
    POE_FUEL_PER_CPU_MS = 27
    REGISTRY_SIGNED_BLOCKS_WINDOW = 28
    REGISTRY_MIN_SIGNED_PER_WINDOW_BPS = 29
    REGISTRY_DOWNTIME_JAIL_BLOCKS = 30
    REGISTRY_DOWNTIME_SLASH_FRACTION_BPS = 31
    COURT_DISPUTE_WINDOW_BLOCKS = 32
    COURT_BOND = 33
    COURT_TURN_BLOCKS = 34
    COURT_POINTS_PER_TURN = 35
    COURT_SLASH_FRACTION_PPM = 36
    KEYS_HYBRID_LINKS_REQUIRED = 52
    KEYS_HYBRID_ACCOUNTS_REQUIRED = 53
    COURT_CHALLENGER_SHARE_PPM = 37
    COURT_REPLAY_FUEL_MAX = 38
    REGISTRY_INCLUSION_WAIT_BLOCKS = 46
    REGISTRY_INCLUSION_OBLIGATION_BLOCKS = 47
    REGISTRY_INCLUSION_OMISSIONS_TO_SLASH = 48
    PRIVACY_PROOF_FEE_MIN = 49
    PRIVACY_PROOFS_PER_BLOCK_MAX = 50
    STORAGE_ACCOUNT_BYTES_MAX = 39
    STORAGE_NODE_BYTES_MAX = 40
    STORAGE_FEE_PER_KIB = 41
    STORAGE_EPOCH_FEE_PER_KIB = 57
    STORAGE_GRACE_EPOCHS = 58
    KEYS_HYBRID_VALIDATORS_REQUIRED = 54


@dataclass(frozen=True, slots=True)
class Owner:
    """A module's parameters as governance reaches them: read, write, and the ranges."""

    read: Callable[[StateReader], Any]
    write: Callable[[Overlay, Any], None]
    ranges: dict[str, tuple[int, int]]


OWNERS: dict[str, Owner] = {
    "staking": Owner(
        staking_records.read_params, staking_rules.set_params, staking_records.StakingParams.RANGES
    ),
    "auth": Owner(auth_params.read_params, auth_params.write_params, auth_params.AuthParams.RANGES),
    "registry": Owner(
        registry_records.read_params,
        registry_records.write_params,
        registry_records.RegistryParams.RANGES,
    ),
    "governance": Owner(
        governance_records.read_params,
        governance_records.write_params,
        governance_records.GovernanceParams.RANGES,
    ),
    "poe": Owner(poe_params.read_params, poe_params.write_params, poe_params.PoeParams.RANGES),
    "court": Owner(
        court_params.read_params, court_params.write_params, court_params.CourtParams.RANGES
    ),
    "privacy": Owner(
        privacy_params.read_params, privacy_params.write_params, privacy_params.PrivacyParams.RANGES
    ),
    "storage": Owner(
        storage_params.read_params,
        storage_params.write_params,
        storage_params.StorageParams.RANGES,
    ),
    "keys": Owner(keys_params.read_params, keys_params.write_params, keys_params.KeysParams.RANGES),
}


def owner_and_field(parameter: Parameter) -> tuple[str, str]:
    """`STAKING_EPOCH_BLOCKS` → ("staking", "epoch_blocks"): the module, then its field."""
    module, _, field = parameter.name.lower().partition("_")
    return module, field


def name_of(parameter: Parameter) -> str:
    """The name people and genesis files use: `staking.epoch_blocks`."""
    return ".".join(owner_and_field(parameter))


def check_change(number: int, value: int) -> int:
    """OK if parameter `number` exists and its module accepts `value`."""
    if number not in set(Parameter):
        return errors.UNKNOWN_PARAMETER
    module, field = owner_and_field(Parameter(number))
    low, high = OWNERS[module].ranges[field]
    if not low <= value <= high:
        return errors.VALUE_OUT_OF_RANGE
    return OK


def apply_change(writer: Overlay, parameter: Parameter, value: int) -> None:
    """Replace one field of its module's stored parameters (the value was checked)."""
    module, field = owner_and_field(parameter)
    owner = OWNERS[module]
    owner.write(writer, replace(owner.read(writer), **{field: value}))
