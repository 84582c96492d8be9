"""Admission reads the committed state through a memo kept for one committed state
(node/chain.py `CommittedReads`): a real store and a real pool; the memo answers repeated reads
without the store, and a commit makes the next admission read the new state."""

from __future__ import annotations

from pathlib import Path

from metanode.consensus.real_suite import RealSuite
from metanode.crypto import vrf
from metanode.mempool.pool import Pool
from metanode.mempool.reasons import Reason
from metanode.node.chain import Chain, CommittedReads, admission_reads_max
from metanode.state.bank.keys import ACCOUNT
from metanode.state.machine import build_block
from metanode.state.store import LEDGER_DIR, Store
from metanode.state.view import MemoryReader
from metanode.types import Denom, Transaction, Transfer
from tests.state.support import Wallet, certify, make_genesis, seed, validator_wallet

SENDER, RECEIVER = Wallet.of(0), Wallet.of(1)


def transfer(nonce: int, amount: int) -> Transaction:
    return SENDER.tx(nonce, Transfer(RECEIVER.address, amount, Denom.FLX))


def admit(chain: Chain, tx: Transaction) -> Reason | None:
    screened = chain.screen([tx.encode()], local=True)
    (admission,) = chain.settle(screened, screened.verifying.result())
    return admission.reason


def test_a_commit_makes_admission_read_the_new_state(tmp_path: Path) -> None:
    document = make_genesis(validators=4)
    with Store.open(tmp_path / LEDGER_DIR, document) as store:
        chain = Chain(store, Pool(document.chain_id), RealSuite(None), block_txs_max=100)
        assert admit(chain, transfer(0, 5)) is None
        assert chain.admission_view().account(SENDER.address)[0] == 0
        block = build_block(
            store.state(),
            [transfer(0, 5)],
            timestamp_ms=2_000_000,
            proposer=validator_wallet(0).address,
            vrf_proof=vrf.prove(seed("vrf", 0), (1).to_bytes(8, "big")),
        ).block
        remembered = chain._admission_reads
        chain.commit(block, certify(store.state().reader, block))
        # The memo outlives the commit with the block's writes in it: every row it holds is
        # the store's row now (the sender's, which the block wrote, among them).
        assert chain._admission_reads is remembered
        reader = store.state().reader
        assert ACCOUNT + SENDER.address.raw in remembered
        assert all(reader.get(key) == value for key, value in remembered.items())
        # A memo of the height before would still say nonce 0, and admit another nonce 0.
        assert chain.admission_view().account(SENDER.address)[0] == 1
        assert admit(chain, transfer(0, 6)) is Reason.NONCE_TOO_LOW
        assert admit(chain, transfer(1, 6)) is None


def test_reads_are_remembered_absent_ones_too_and_the_memo_is_bounded() -> None:
    rows = {b"a": b"1"}
    reader = MemoryReader(rows)
    memo: dict[bytes, bytes | None] = {}
    reads = CommittedReads(reader, memo)
    assert reads.get(b"a") == b"1" and reads.get(b"b") is None
    # The reader changes under the memo: the memo answers, without reading it again.
    rows[b"a"], rows[b"b"] = b"2", b"3"
    assert reads.get(b"a") == b"1" and reads.get(b"b") is None
    assert CommittedReads(reader, {}).get(b"a") == b"2"
    assert list(reads.scan(b"")) == [(b"a", b"2"), (b"b", b"3")]
    memo.update((index.to_bytes(4, "big"), None) for index in range(admission_reads_max))
    rows[b"c"] = b"4"
    assert reads.get(b"c") == b"4"  # a full memo is emptied before the new row is kept
    assert memo == {b"c": b"4"}
