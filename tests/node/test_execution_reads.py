"""A chain executes its proposals and the blocks it validates on the committed state read
through its memo of committed rows (node/chain.py `CommittedReads`), as admission reads it: a
real store, a real pool and the real suite. The blocks and changes are those of the store's
own reader, the rows execution read are remembered and stay the store's rows across the
commit, and the memo's batch read answers as its reads one by one."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from metanode.consensus.real_suite import RealSuite, ValidatorKeys
from metanode.mempool.pool import Pool
from metanode.node.chain import Chain, CommittedReads, admission_reads_max
from metanode.state.bank.keys import ACCOUNT
from metanode.state.machine import build_block
from metanode.state.store import LEDGER_DIR, Store
from metanode.state.view import MemoryReader
from metanode.types import Denom, Transfer
from tests.state.support import Wallet, certify, make_genesis, validator_wallet

RECIPIENT = Wallet.of(9).address
PROPOSER = validator_wallet(1)
KEYS = ValidatorKeys(bytes(PROPOSER.key), bytes(31) + b"\x07", bytes([7]) * 32)


def test_proposals_and_validations_execute_on_the_memo_as_on_the_store(tmp_path: Path) -> None:
    document = make_genesis(validators=4)
    chain_id = document.chain_id
    with (
        Store.open(tmp_path / "proposer" / LEDGER_DIR, document) as mine,
        Store.open(tmp_path / "validator" / LEDGER_DIR, document) as theirs,
    ):
        proposer = Chain(mine, Pool(chain_id), RealSuite(KEYS), block_txs_max=100)
        validator = Chain(theirs, Pool(chain_id), RealSuite(None), block_txs_max=100)
        txs = [Wallet.of(sender).tx(0, Transfer(RECIPIENT, 5, Denom.FLX)) for sender in (1, 2, 3)]
        for tx in txs:
            assert proposer.pool.admit(tx.encode(), proposer.admission_view(), 1).admitted
        block = proposer.propose(1, 0, (), PROPOSER.address, 2_000_000)
        assert sorted(block.txs, key=lambda tx: tx.hash()) == sorted(txs, key=lambda tx: tx.hash())
        # The same block, header and all, from the store's own reader.
        direct = build_block(
            mine.state(),
            list(block.txs),
            timestamp_ms=block.header.timestamp_ms,
            proposer=PROPOSER.address,
            vrf_proof=block.header.vrf_proof,
        )
        assert direct.block == block
        assert validator.validate(block, now_ms=2_000_000)
        # Admission read the senders' rows; the recipient's and the proposer's (credited the
        # fees) were read by the execution, through the memo.
        executed = {ACCOUNT + RECIPIENT.raw, ACCOUNT + PROPOSER.address.raw}
        assert executed <= proposer._admission_reads.keys()
        assert executed <= validator._admission_reads.keys()
        certificate = certify(mine.state().reader, block)
        for chain, store in ((proposer, mine), (validator, theirs)):
            chain.commit(block, certificate)
            reader = store.state().reader
            assert all(reader.get(key) == value for key, value in chain._admission_reads.items())
        assert theirs.state().state_root == mine.state().state_root == block.header.state_root


keys = st.binary(min_size=1, max_size=2)


@given(
    rows=st.dictionaries(keys, st.binary(max_size=4), max_size=12),
    known=st.sets(keys, max_size=12),
    asked=st.lists(keys, max_size=24),
)
def test_a_batch_read_answers_as_reads_one_by_one_and_remembers_them(
    rows: dict[bytes, bytes], known: set[bytes], asked: list[bytes]
) -> None:
    memo: dict[bytes, bytes | None] = {key: rows.get(key) for key in known}
    reader = MemoryReader(dict(rows))
    assert CommittedReads(reader, memo).get_many(asked) == [rows.get(key) for key in asked]
    assert {key: memo[key] for key in asked} == {key: rows.get(key) for key in asked}
    # Remembered: the memo answers though the rows below change.
    reader.apply([(key, b"changed") for key in asked])
    assert CommittedReads(reader, memo).get_many(asked) == [rows.get(key) for key in asked]


def test_a_batch_read_that_would_overfill_the_memo_empties_it_first() -> None:
    memo: dict[bytes, bytes | None] = {
        index.to_bytes(4, "big"): None for index in range(admission_reads_max)
    }
    reads = CommittedReads(MemoryReader({b"a": b"1"}), memo)
    assert reads.get_many([b"\x00\x00\x00\x01", b"a", b"b"]) == [None, b"1", None]
    assert memo == {b"a": b"1", b"b": None}
