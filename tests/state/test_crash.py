"""Crash safety on real processes: a child commits blocks to LMDB and is killed with SIGKILL at
seeded random moments; after each kill the store reopens with the last block wholly committed
or wholly absent, and re-executing the stored blocks reproduces every stored state root.

The child is forked from the test process (no interpreter start-up per kill, so 200 kills take
seconds). The parent never holds the LMDB environment open across a fork. Blocks are small and
each kill waits for 0 to 3 of the child's progress marks and then a few milliseconds, so
kills land in every phase: building, writing, committing.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from metanode.state.bank import queries
from metanode.state.ledger import MemoryLedger
from metanode.state.machine import apply_block, build_block
from metanode.state.store import Store
from metanode.types import Denom, Transfer
from tests.state.support import Wallet, certify_last, make_genesis, validator_wallet

WALLETS = 4
PROPOSER = validator_wallet(0).address


def child_commits_forever(home: Path, progress: int) -> None:
    """Runs in the forked child until it is killed; writes b"b" to `progress` before each
    commit and b"c" after it, so the parent can tell where the kill landed."""
    store = Store.open(home)
    while True:
        state = store.state()
        rng = random.Random(state.height)
        txs = []
        for index in range(rng.randrange(1, 6)):
            wallet = Wallet.of(index % WALLETS)
            nonce = queries.account(state.reader, wallet.address).nonce + index // WALLETS
            target = Wallet.of(rng.randrange(WALLETS)).address
            txs.append(wallet.tx(nonce, Transfer(target, rng.randrange(1, 100), Denom.AUR)))
        proposal = build_block(
            state,
            txs,
            timestamp_ms=2_000_000 + state.height,
            proposer=PROPOSER,
            verify_signatures=False,
            last_certificate=certify_last(state.reader, store.block(state.height)),
        )
        os.write(progress, b"b")
        store.commit(proposal.changes)
        os.write(progress, b"c")


def check_store(home: Path, mirror: MemoryLedger) -> int:
    """Reopen; bring the mirror up to the stored tip by re-executing the stored blocks; demand
    that every stored root and receipt matches and that nothing of a later block is there."""
    with Store.open(home) as store:
        state = store.state()
        for height in range(mirror.state.height + 1, state.height + 1):
            block = store.block(height)
            assert block is not None, f"block {height} missing below the tip {state.height}"
            changes = apply_block(mirror.state, block)
            assert changes.state_root == block.header.state_root
            assert store.receipts(height) == changes.receipts
            for position, tx in enumerate(block.txs):
                assert store.find_tx(tx.hash()) == (height, position)
            mirror.commit(changes)
        assert state.height == mirror.state.height
        assert state.state_root == mirror.state.state_root
        assert state.block_hash == mirror.state.block_hash
        assert dict(state.reader.scan(b"")) == mirror.items
        following = state.height + 1
        assert store.block(following) is None
        with store._env.begin() as txn:
            key = following.to_bytes(8, "big")
            for table in ("blocks", "receipts", "certs"):
                assert txn.get(key, db=store._db[table]) is None
        return state.height


def kill_loop(tmp_path: Path, kills: int, seed_value: int) -> tuple[int, int, int]:
    """(final height, kills after which the height had advanced, kills inside a commit)"""
    home = tmp_path / "ledger"
    document = make_genesis(wallets=WALLETS)
    Store.open(home, document).close()
    mirror = MemoryLedger(document)
    rng = random.Random(seed_value)
    advanced = 0
    in_commit = 0
    height = 0
    for _ in range(kills):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: commit until killed; never return into pytest
            try:
                os.close(read_end)
                child_commits_forever(home, write_end)
            finally:
                os._exit(1)
        os.close(write_end)
        with os.fdopen(read_end, "rb", buffering=0) as progress:
            # The moment is counted in the child's progress marks, then a few milliseconds,
            # not in wall time from the fork alone: on a loaded machine a child killed 40 ms
            # after its fork had often not opened the store yet, and the run never reached
            # the commits it is meant to interrupt.
            marks = b""
            for _ in range(rng.randrange(4)):
                marks += progress.read(1)
            time.sleep(rng.uniform(0, 0.010))
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            assert os.WIFSIGNALED(status), f"the child ended by itself (status {status})"
            marks += progress.read()
        in_commit += marks.endswith(b"b")
        new_height = check_store(home, mirror)
        assert new_height >= height
        advanced += new_height > height
        height = new_height
    return height, advanced, in_commit


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_200_sigkills_leave_whole_blocks() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        height, advanced, in_commit = kill_loop(Path(directory), 200, seed_value=20240601)
    # The kills must have landed while blocks were being made and committed, not only
    # before the first one.
    assert advanced >= 50, (height, advanced, in_commit)
    assert in_commit >= 10, (height, advanced, in_commit)
