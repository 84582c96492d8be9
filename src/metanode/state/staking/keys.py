"""staking keys. Prefix 0x03 belongs to staking; a table byte, once used, is never reused.

    0x03 0x00                           → parameters [unbonding_delay_blocks, validators_max,
                                          epoch_blocks]
    0x03 0x01 ‖ validator(20)           → validator [public_key, bls_key, bls_pop, vrf_key, stake]
    0x03 0x02 ‖ delegator(20) ‖ validator(20) → bonded amount (uint)
    0x03 0x03 ‖ height(8, big-endian)   → unbondings completing then [[delegator, amount]…]
    0x03 0x04 ‖ bls_key(48)             → validator address (a BLS key serves one validator)
    0x03 0x05                           → the validator set of the next height
    0x03 0x06                           → the validator set of the height after it
    0x03 0x07                           → number of registered validators (uint)
    0x03 0x08 ‖ validator(20)           → jailed: the height it was jailed at (uint); a jailed
                                          validator is left out of every set computed after
    0x03 0x09 ‖ height(8, big-endian)   → the validator set that signs from that height on
                                          (written once, when fixed; never overwritten)
    0x03 0x0a ‖ index(8, big-endian)    → the height of the index-th set change (uint), so
                                          the set in force at a height is a binary search
    0x03 0x0b                           → number of set changes recorded (uint)
    0x03 0x0c                           → parameters changed since the last set computation
                                          (empty value): the next epoch end recomputes the set
    0x03 0x0d ‖ validator(20)           → retired: the height its registry node left at (uint);
                                          left out of every set computed after, as if jailed,
                                          but not a punishment (evidence can still jail it)

A validator set is stored as the deterministic CBOR of `[[address, power, public_key,
bls_key, vrf_key]…]` sorted by address, the same bytes `metanode.consensus.validators.
ValidatorSet.hash()` hashes, so the set hash is `tagged_hash(VALIDATOR_SET, stored value)`.
"""

from __future__ import annotations

from metanode.types import Address

PREFIX = b"\x03"
PARAMS = PREFIX + b"\x00"
VALIDATOR = PREFIX + b"\x01"
DELEGATION = PREFIX + b"\x02"
UNBONDING = PREFIX + b"\x03"
BLS_KEY = PREFIX + b"\x04"
SET_NEXT = PREFIX + b"\x05"
SET_AFTER_NEXT = PREFIX + b"\x06"
VALIDATOR_COUNT = PREFIX + b"\x07"
JAILED = PREFIX + b"\x08"
SET_FROM = PREFIX + b"\x09"
SET_CHANGE = PREFIX + b"\x0a"
SET_CHANGE_COUNT = PREFIX + b"\x0b"
PARAMS_CHANGED = PREFIX + b"\x0c"
RETIRED = PREFIX + b"\x0d"


def validator(address: Address) -> bytes:
    return VALIDATOR + address.raw


def delegation(delegator: Address, validator_address: Address) -> bytes:
    return DELEGATION + delegator.raw + validator_address.raw


def unbonding(height: int) -> bytes:
    return UNBONDING + height.to_bytes(8, "big")


def bls_key(public_key: bytes) -> bytes:
    return BLS_KEY + public_key


def jailed(address: Address) -> bytes:
    return JAILED + address.raw


def retired(address: Address) -> bytes:
    return RETIRED + address.raw


def set_from(height: int) -> bytes:
    return SET_FROM + height.to_bytes(8, "big")


def set_change(index: int) -> bytes:
    return SET_CHANGE + index.to_bytes(8, "big")
