"""notary: a split-origin (version 2) receipt is notarised only if its request names the
CallApp transaction its call came from; version 1 leaves stay valid."""

from __future__ import annotations

from dataclasses import replace

import pytest

from metanode.codec import decode, encode
from metanode.docklock.receipt import Request
from metanode.errors import DecodeError
from metanode.state.apps import queries as apps_queries
from metanode.state.codes import OK
from metanode.state.notary import errors, queries
from metanode.types import CallApp, DeployApp, LogLeaf, Transaction
from tests.state.support import Chain, make_genesis, seed
from tests.state.test_notary import (
    APP,
    CALLER,
    COUNTER,
    FUEL_LIMIT,
    FUEL_PRICE,
    OWNER,
    VALIDATORS,
    Replicas,
    Submitter,
    logblock_of,
    refused,
)

CALLS = 3


def request_of(tx: Transaction) -> Request:
    return Request(tx.hash(), tx.sender, tx.signature)


@pytest.fixture
def called() -> tuple[Chain, list[Transaction]]:
    chain = Chain(make_genesis(validators=VALIDATORS))
    assert chain.run([OWNER.tx(0, DeployApp(COUNTER, 2, FUEL_PRICE, FUEL_LIMIT))]).receipts[
        0
    ].code == (OK)
    txs = [
        CALLER.tx(index, CallApp(APP, 0, "increment", bytes([index]), FUEL_LIMIT))
        for index in range(CALLS)
    ]
    assert [receipt.code for receipt in chain.run(txs).receipts] == [OK] * CALLS
    return chain, txs


def test_each_call_record_keeps_its_transactions_hash(
    called: tuple[Chain, list[Transaction]],
) -> None:
    chain, txs = called
    for seq, tx in enumerate(txs):
        call = apps_queries.call(chain.state.reader, APP, seq)
        assert call is not None and call.tx_hash == tx.hash()


def test_split_origin_receipts_naming_their_calls_transactions_commit(
    called: tuple[Chain, list[Transaction]],
) -> None:
    chain, txs = called
    requests = {seq: request_of(tx) for seq, tx in enumerate(txs)}
    leaves = Replicas(chain).leaves(0, CALLS - 1, requests=requests)
    assert all(leaf.request_tx == txs[leaf.call_seq].hash() for leaf in leaves)
    assert Submitter(chain).submit(logblock_of(chain, leaves, 0, CALLS - 1)) == OK
    for leaf in leaves:
        found = queries.receipt(chain.state.reader, leaf.receipt_hash)
        assert found is not None and found.leaf == leaf


def test_a_receipt_naming_another_transaction_is_refused(
    called: tuple[Chain, list[Transaction]],
) -> None:
    chain, txs = called
    submitter = Submitter(chain)
    # The executor swapped two calls' requests: each names a real transaction, not its call's.
    swapped = {0: request_of(txs[1]), 1: request_of(txs[0]), 2: request_of(txs[2])}
    leaves = Replicas(chain).leaves(0, CALLS - 1, requests=swapped)
    code = refused(chain, submitter, logblock_of(chain, leaves, 0, CALLS - 1))
    assert code == errors.REQUEST_MISMATCH
    # One replica lying is enough: the other's honest receipt does not carry the LogBlock.
    honest = {seq: request_of(tx) for seq, tx in enumerate(txs)}
    leaves = Replicas(chain).leaves(0, CALLS - 1, requests=honest)
    forged = Request(seed("no such transaction"), CALLER.public_key, txs[2].signature)
    leaves[-1] = replace(leaves[-1], request_tx=forged.tx_hash)
    code = refused(chain, submitter, logblock_of(chain, leaves, 0, CALLS - 1))
    assert code == errors.REQUEST_MISMATCH
    # Version 1 receipts name no request and stay valid.
    assert submitter.submit(logblock_of(chain, Replicas(chain).leaves(0, CALLS - 1), 0, 2)) == OK


def test_a_leaf_encodes_its_request_only_when_split_origin() -> None:
    digest = seed("receipt")
    v1 = LogLeaf(digest, digest, 0, digest, digest, 1, 2, 3, 4, 5)
    v2 = replace(v1, request_tx=seed("tx"))
    assert len(v1.to_wire()) == 10 and len(v2.to_wire()) == 11
    for leaf in (v1, v2):
        assert LogLeaf.from_wire(decode(encode(leaf.to_wire()))) == leaf
    with pytest.raises(DecodeError):
        LogLeaf.from_wire(decode(encode([*v1.to_wire(), b""])))
    with pytest.raises(DecodeError):
        LogLeaf.from_wire(decode(encode([*v2.to_wire(), b""])))
