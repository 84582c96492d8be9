"""Limits of the state layer (`*_max`, units last), checked against each other at import.

Parameters a chain may choose live in its genesis file (`genesis/document.py`) and are bounded
by the `*_max` here; these limits are the same on every chain.
"""

from __future__ import annotations

from metanode.types import constants as types_constants
from metanode.types.messages import BASE_UNITS_PER_COIN

uint64_max = types_constants.uint64_max
# Every balance and every supply is a uint64 of base units: 1.8e10 coins at 9 decimals.
supply_max = uint64_max
# Validator candidates kept in state; the active set is the top `validators_max` by power.
validator_candidates_max = 1_000
validators_max = types_constants.validators_max
# Unbondings completing at one height (one stored list per height).
unbondings_per_height_max = 1_000
unbonding_delay_blocks_max = 10_000_000
epoch_blocks_max = 1_000_000
# Registry: registered nodes, and the basis points of a slashing fraction.
registry_nodes_max = 100_000
basis_points = 10_000
evidence_age_blocks_max = 10_000_000
# The missed-commit window: its bitmap (window / 8 bytes) is rewritten for every validator in
# every block, so the bound keeps that write small.
signed_blocks_window_max = 10_000
downtime_jail_blocks_max = 10_000_000
# Inclusion lists: a validator holds every member's list for each height of the obligation
# window (validators_max × this many at most), and reads a proposer's proven omissions over
# twice the window; the wait bound matches the node's own setting's.
inclusion_obligation_blocks_max = 256
inclusion_wait_blocks_max = 1_000
# Identity: credentials registered per subject DID (each is read to find the subject's level).
credentials_per_subject_max = 16
# Governance: proposals open at once (each end of block scans them), depositors of one
# proposal, and the longest deposit or voting period.
governance_open_proposals_max = 100
governance_depositors_max = 100
governance_period_blocks_max = 10_000_000
# Genesis: accounts and validators in one file.
genesis_accounts_max = 10_000_000
genesis_validators_max = validators_max
genesis_bytes_max = 4 * 1024 * 1024 * 1024
# Faucet: the numbers are the defaults and the ceilings.
faucet_request_coins_max = 100_000
faucet_daily_coins_max = 1_000_000
faucet_cooldown_ms = 3_600_000
day_ms = 86_400_000
# Apps: deployed apps, versions of one app, executor replicas of one app.
apps_max = 100_000
app_versions_max = 1_024
app_replicas_max = 64
# Storage (store.py): how many recent transactions are indexed per address.
address_txs_max = 1_000
# The indexes' slices (state/index_runs.py): a block writes at most this many rows to each
# index's level 0, at the end of each slice's key range, and each commit moves one slice into
# level 1, so an entry waits at most this many blocks and a commit rewrites about 1/S of level
# 1's pages. 64: a block of 5,000 transfers packs ≈ 80 transaction and ≈ 160 address records
# (0.8 and 1.6 KB) a row, a lookup reads ≤ 64 rows of level 0, and a sweep rewrites 1/64 of
# level 1 (docs/decisions/ledger-indexes.md). A power of two that divides 256: a slice is the
# high bits of a prefix's first byte.
index_slices = 64
# Disputes open at once (state/court): each deadline is one end-of-block step, so this bounds
# the court's work in any block; a bisection turn's deadline at most this far ahead.
disputes_open_max = 1_000
dispute_blocks_max = 10_000_000
base_units_per_coin = BASE_UNITS_PER_COIN

assert validators_max <= validator_candidates_max
assert 256 % index_slices == 0 and index_slices & (index_slices - 1) == 0
assert faucet_request_coins_max <= faucet_daily_coins_max
assert faucet_daily_coins_max * base_units_per_coin < supply_max
