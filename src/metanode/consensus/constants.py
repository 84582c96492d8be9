"""Limits of the consensus engine (`*_max`, units last), checked against each other."""

from __future__ import annotations

from metanode.types import constants as types_constants

round_timeout_base_ms = 1_000  # default; the node's config may change it
round_exponent_max = 10  # timeouts stop doubling here: base · 2^10 ≈ 17 minutes at 1 s
round_max = types_constants.consensus_round_max
future_messages_max = 4_096  # buffered messages for the next height
evidence_pending_max = types_constants.block_evidence_max  # a proposal carries them all
round_window_max = 64  # votes for rounds further ahead than this are dropped, not held
# Proposer orders (one per cycle of n rounds) memoised per validator set: a few heights' worth.
proposer_cycles_cached_max = 64
messages_per_round_max = 4 * 256  # per kind and round: validators_max each, four kinds

assert round_timeout_base_ms > 0
assert 0 < round_exponent_max < 32
