"""Limits of the mempool (`*_max`, units last), checked against each other at import."""

from __future__ import annotations

from metanode.types import constants as types_constants

pool_txs_max = 200_000
pool_bytes_max = 128 * 1024 * 1024
sender_txs_max = 256  # pending transactions of one sender
# How far ahead of the account's next nonce a transaction may wait (the default of the node's
# `[mempool] nonce_gap_max`); further ahead is refused `nonce_gap_too_large`.
nonce_gap_max = 64
replacement_bump_percent = 10  # a replacement must pay at least this much more
# Hashes this node verified, so it never verifies them twice: as many as the largest pool.
verified_cache_max = 200_000
batch_txs_max = 10_000
# Insertions and removals whose senders the pool remembers, so that a batch settling after
# others re-checks only the rows of senders they moved (two batches' worth: one inserted, one
# evicted); past it, every row.
settle_moves_max = 2 * batch_txs_max
# Departed entries the lazily cleaned heaps may hold beyond the live ones before a rebuild.
heap_slack_max = 10_000

assert pool_bytes_max >= pool_txs_max * 100
assert nonce_gap_max <= sender_txs_max
assert types_constants.tx_bytes_max < pool_bytes_max
assert verified_cache_max >= pool_txs_max
