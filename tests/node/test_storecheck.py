"""The quick store check (`metanode store check`, node/storecheck.py) on real LMDB stores of
certified blocks: it passes a good store, walks only the blocks since its checkpoint, and
fails a damaged state, tree, block, receipt, certificate or checkpoint, naming what."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metanode.cli.store import app as store_app
from metanode.errors import ConfigError
from metanode.node.storecheck import CHECKPOINT_FILE, Checkpoint, StoreInconsistent, check
from metanode.state.bank.keys import account
from metanode.state.store import LEDGER_DIR, Store
from tests.state.support import Wallet, make_genesis
from tests.state.test_store import commit_block, transfers

BLOCKS = 5


@pytest.fixture
def home(tmp_path: Path) -> Path:
    with Store.open(tmp_path / LEDGER_DIR, make_genesis()) as store:
        for count in (3, 0, 4, 1, 2):
            commit_block(store, transfers(store, count), certificate=True)
    return tmp_path


def opened(home: Path) -> Store:
    return Store.open(home / LEDGER_DIR)


def test_a_good_store_passes_and_the_next_check_walks_only_the_blocks_since(home: Path) -> None:
    with opened(home) as store:
        report = check(store, None)
        assert (report.height, report.blocks, report.since) == (BLOCKS, BLOCKS, None)
        assert report.state_root == store.state().state_root and report.keys > 0
        checkpoint = Checkpoint(BLOCKS, store.block(BLOCKS).hash())  # type: ignore[union-attr]
        for count in (2, 3):
            commit_block(store, transfers(store, count), certificate=True)
        report = check(store, checkpoint)
        assert (report.height, report.blocks, report.since) == (BLOCKS + 2, 3, BLOCKS)


def rewrite(home: Path, table: str, pick: Callable[[list[bytes]], bytes], edit: bytes) -> None:
    """XOR `edit` into the end of the value `pick` chooses among `table`'s keys."""
    with opened(home) as store, store._env.begin(write=True) as txn:
        db = store._db[table]
        key = pick([key for key, _ in txn.cursor(db=db)])
        value = txn.get(key, db=db)
        tail = bytes(a ^ b for a, b in zip(value[-len(edit) :], edit, strict=True))
        txn.put(key, value[: -len(edit)] + tail, db=db)


def damage_block(home: Path, height: int) -> None:
    """Store block `height` as a valid block with one transaction fewer."""
    with opened(home) as store:
        block = store.block(height)
        assert block is not None and block.txs
        shorter = type(block)(block.header, block.txs[:-1])
        with store._env.begin(write=True) as txn:
            txn.put(
                height.to_bytes(8, "big"),
                b"\x01" + zlib.compress(shorter.encode()),
                db=store._db["blocks"],
            )


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (
            lambda home: rewrite(
                home, "state", lambda keys: account(Wallet.of(2).address), b"\x01"
            ),
            "the state table rebuilds to root",
        ),
        (
            lambda home: rewrite(home, "nodes", lambda keys: keys[len(keys) // 2], b"\x01"),
            "does not read back",
        ),
        (lambda home: rewrite(home, "nodes", lambda keys: keys[-1], b"\x01"), "root node"),
        (lambda home: damage_block(home, 3), "block 3's transactions are not its header's"),
        (
            lambda home: rewrite(home, "receipts", lambda keys: keys[3], b"\x01"),
            "block 4's stored receipts",
        ),
        (lambda home: rewrite(home, "certs", lambda keys: keys[-1], b"\x01"), "does not read"),
    ],
    ids=["state", "tree node", "tree root", "block", "receipts", "certificate"],
)
def test_damage_fails_the_check_naming_it(
    home: Path, damage: Callable[[Path], None], said: str
) -> None:
    damage(home)
    with opened(home) as store, pytest.raises(StoreInconsistent, match=said):
        check(store, None)


def test_a_checkpoint_the_store_no_longer_holds_fails_it(home: Path) -> None:
    with opened(home) as store:
        with pytest.raises(StoreInconsistent, match=f"block 2 is not the block.*{CHECKPOINT_FILE}"):
            check(store, Checkpoint(2, bytes(32)))
        with pytest.raises(StoreInconsistent, match="went back"):
            check(store, Checkpoint(BLOCKS + 1, bytes(32)))


def test_the_cli_records_its_checkpoint_and_keeps_the_full_replay(home: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(store_app, ["check", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"store ok: height={BLOCKS} ")
    assert "since=genesis" in result.output
    saved = json.loads((home / CHECKPOINT_FILE).read_text())
    assert saved["height"] == BLOCKS
    result = runner.invoke(store_app, ["check", "--home", str(home), "--json"])
    assert json.loads(result.output)["since"] == BLOCKS
    assert json.loads(result.output)["blocks"] == 1
    result = runner.invoke(store_app, ["check", "--home", str(home), "--full"])
    assert result.exit_code == 0 and result.output.startswith("replay ok: height=5")
    result = runner.invoke(store_app, ["check", "--home", str(home), "--invariants"])
    assert isinstance(result.exception, ConfigError) and "--full" in str(result.exception)
    rewrite(home, "state", lambda keys: account(Wallet.of(1).address), b"\x01")
    result = runner.invoke(store_app, ["check", "--home", str(home)])
    assert result.exit_code == 1 and "rebuilds to root" in result.output
