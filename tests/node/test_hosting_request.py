"""The notary's off-chain check of a split-origin receipt's request (node/hosting.py
`request_problem`), on the call records the chain writes: a receipt is kept only if its request
is its call's CallApp transaction, key and signature included where the block is held."""

from __future__ import annotations

from metanode.docklock.receipt import Request
from metanode.node.hosting import request_problem
from metanode.state.apps import queries as apps_queries
from metanode.state.apps.records import CallRecord
from metanode.types import Transaction
from tests.state.support import Chain, seed
from tests.state.test_notary import APP, CALLER, OWNER
from tests.state.test_notary_request import called, request_of

__all__ = ["called"]  # the fixture, imported for pytest


def call_of(chain: Chain, seq: int) -> CallRecord:
    call = apps_queries.call(chain.state.reader, APP, seq)
    assert call is not None
    return call


def test_the_calls_own_request_passes(called: tuple[Chain, list[Transaction]]) -> None:
    chain, txs = called
    for seq, tx in enumerate(txs):
        assert request_problem(request_of(tx), call_of(chain, seq), request_of(tx)) is None
        # A node without the block (state-synced) checks the hash the chain keeps.
        assert request_problem(request_of(tx), call_of(chain, seq), None) is None


def test_another_transaction_key_or_signature_is_refused(
    called: tuple[Chain, list[Transaction]],
) -> None:
    chain, txs = called
    call, known = call_of(chain, 0), request_of(txs[0])
    lies = [
        request_of(txs[1]),
        Request(seed("no such transaction"), known.client, known.signature),
        Request(known.tx_hash, OWNER.public_key, known.signature),
        Request(known.tx_hash, CALLER.public_key, txs[1].signature),
    ]
    for lie in lies:
        assert request_problem(lie, call, known) == "request_mismatch"
    # Without the block only the hash the call record keeps can be checked.
    assert request_problem(lies[1], call, None) == "request_mismatch"
