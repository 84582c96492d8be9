"""The ruling's reads: an app whose state is far larger than a transaction is judged from the
proofs of the few keys its disputed call touches, on a real chain (the app deployed and called
through blocks, the replay in the cage from the chain's records), and reads that do not prove
what the call needs are refused with their codes."""

from __future__ import annotations

import pytest

from metanode.codec import decode, encode
from metanode.crypto.hashing import blake3_hash
from metanode.docklock import cage
from metanode.docklock.appstate import ProvenState, prove_keys, state_root
from metanode.state.codes import OK
from metanode.state.court import errors
from metanode.state.court.records import ZERO, Dispute, Kind, Status
from metanode.state.court.ruling import call_context, reads_for, rule, state_before
from metanode.state.multiproof import Incomplete
from metanode.types import Address, CallApp, DeployApp, RuleDispute
from metanode.types import constants as types_constants
from tests.state.support import Chain, make_genesis
from tests.state.test_notary import CALLER, FUEL_PRICE, OWNER, VALIDATORS

ENTRIES = 20_000
# `fill` stores ENTRIES keys (4 bytes each, big-endian counters) of 8 bytes; `increment` is
# the counter's, under the key "count".
BIG = cage.wat_to_wasm(
    f"""
(module
  (import "env" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "env" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (import "env" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "count")
  (func (export "fill") (local $i i32)
    (loop $next
      (i32.store (i32.const 32) (local.get $i))
      (call $state_set (i32.const 32) (i32.const 4) (i32.const 32) (i32.const 8))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const {ENTRIES})))))
  (func (export "increment")
    (if (i32.lt_s (call $state_get (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8))
                  (i32.const 0))
      (then (i64.store (i32.const 16) (i64.const 0))))
    (i64.store (i32.const 16) (i64.add (i64.load (i32.const 16)) (i64.const 1)))
    (call $state_set (i32.const 0) (i32.const 5) (i32.const 16) (i32.const 8))
    (call $output_write (i32.const 16) (i32.const 8))))
"""
)
APP = blake3_hash(BIG)
FUEL_LIMIT = 5_000_000


def test_a_state_far_larger_than_a_transaction_is_judged_from_a_few_kib_of_reads() -> None:
    chain = Chain(make_genesis(validators=VALIDATORS), vrf=True)
    made = [
        OWNER.tx(0, DeployApp(BIG, 2, FUEL_PRICE, FUEL_LIMIT)),
        CALLER.tx(0, CallApp(APP, 0, "fill", b"", FUEL_LIMIT)),
        CALLER.tx(1, CallApp(APP, 0, "increment", b"", FUEL_LIMIT)),
    ]
    assert [receipt.code for receipt in chain.run(made).receipts] == [OK] * 3
    reader = chain.state.reader
    state = state_before(reader, APP, 1)
    assert state is not None and len(state) == ENTRIES
    assert len(encode(state)) > types_constants.logblock_tx_bytes_max
    context = call_context(reader, APP, 1)
    assert not isinstance(context, int)
    after = context.run(state, FUEL_LIMIT).state_after
    true_root, false_root = state_root(after), blake3_hash(b"a state that never was")
    dispute = disputed(state_root(state), (false_root, true_root))

    reads = reads_for(reader, dispute, state)
    assert isinstance(reads, bytes) and len(reads) < 4 * 1024
    message = RuleDispute(0, reads, b"")
    assert len(encode(message.fields())) < 4 * 1024
    judged = rule(reader, dispute, ProvenState.check(dispute.agreed_root, reads), [])
    assert not isinstance(judged, int)
    status, ruling = judged
    assert (status, ruling.root) == (Status.CHALLENGER_WON, true_root)

    # Reads without the key the call touches, or with a closed path to it, are refused.
    without = ProvenState.check(dispute.agreed_root, prove_keys(state, []))
    assert rule(reader, dispute, without, []) == errors.READ_UNPROVEN
    pairs, count, _proof = decode(reads)
    closed = encode([pairs, count, encode(state_root(state))])
    with pytest.raises(Incomplete):
        ProvenState.check(dispute.agreed_root, closed)


def disputed(agreed: bytes, posts: tuple[bytes, bytes]) -> Dispute:
    """A challenge narrowed to call 1, as bisection leaves it."""
    return Dispute(
        app_id=APP,
        kind=Kind.CHALLENGE,
        sides=(Address(bytes(20)), Address(b"\x01" * 20)),
        bond=1,
        opened_height=1,
        call_seq=1,
        first_seq=0,
        receipts=(ZERO, ZERO),
        results=(ZERO, ZERO),
        lo=1,
        hi=1,
        agreed_root=agreed,
        posts=posts,
        pending=(),
        mover=0,
        deadline=2,
        turns=0,
        status=Status.RULING_DUE,
    )
