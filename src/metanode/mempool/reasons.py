"""Why a transaction was not admitted: stable identifiers a client can act on.

The envelope rungs (wrong chain, expired, fee below the floor) are the state machine's own
(`metanode.state.auth`), run by the same code; the rest belong to the pool.
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    TOO_LARGE = "too_large"
    MALFORMED = "malformed"
    DUPLICATE = "duplicate"
    WRONG_CHAIN = "wrong_chain"
    EXPIRED = "expired"
    FEE_TOO_LOW = "fee_too_low"
    NONCE_TOO_LOW = "nonce_too_low"
    NONCE_GAP_TOO_LARGE = "nonce_gap_too_large"
    INSUFFICIENT_FEE_BALANCE = "insufficient_fee_balance"
    # The amount the message moves (a transfer's, a bond's) and the fee exceed what the sender
    # holds in committed state less what its pending transactions spend: it would fail.
    INSUFFICIENT_FUNDS = "insufficient_funds"
    REPLACEMENT_FEE_TOO_LOW = "replacement_fee_too_low"
    SENDER_FULL = "sender_full"
    BAD_SIGNATURE = "bad_signature"
    # The state machine's key rung (docs/pq.md): an Ed25519 key the chain no longer accepts.
    ACCOUNT_MIGRATED = "account_migrated"
    HYBRID_KEY_REQUIRED = "hybrid_key_required"
    # A transaction that must wait for an earlier nonce, refused while the pool is half full:
    # waiting transactions may hold at most half of it, so they cannot crowd out ready ones.
    QUEUE_FULL = "queue_full"
    POOL_FULL = "pool_full"
    # Not the pool's: the gateway's admission that follows the commit rate (mempool/rate.py)
    # let in no more of the batch; retry after the response's `Retry-After`.
    RATE_LIMITED = "rate_limited"
