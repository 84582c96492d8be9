"""Backups (node/backup.py): the sealed stream, the header, and real backups of running nodes
restored on fresh homes; altered, truncated, wrong-passphrase and other-chain backups refused
with nothing written."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import lmdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto.keystore import KdfParams
from metanode.errors import ConfigError
from metanode.node import backup
from metanode.node import home as dev_home
from tests.conftest import examples

from .cluster import Cluster, running

CHEAP = KdfParams(time_cost=1, memory_kib=8 * 1024, parallelism=1)
KEY = bytes(range(32))
HEADER = b"header bytes"


def _sealed(data: bytes, chunks: list[int]) -> bytes:
    out = io.BytesIO()
    sealer = backup._Sealer(out, KEY, HEADER, segment=16)
    at = 0
    for size in chunks:
        sealer.write(data[at : at + size])
        at += size
    sealer.write(data[at:])
    sealer.finish()
    return out.getvalue()


def _opened(sealed: bytes, key: bytes = KEY, header: bytes = HEADER) -> bytes:
    return io.BufferedReader(backup._Opener(io.BytesIO(sealed), key, header)).read()


@settings(max_examples=examples(60), deadline=None)
@given(data=st.binary(max_size=100), chunks=st.lists(st.integers(0, 40), max_size=5))
def test_sealed_segments_read_back_whatever_the_writes(data: bytes, chunks: list[int]) -> None:
    assert _opened(_sealed(data, chunks)) == data


@settings(max_examples=examples(80), deadline=None)
@given(data=st.binary(min_size=1, max_size=60), where=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_any_flipped_bit_is_refused_as_altered(data: bytes, where: int, bit: int) -> None:
    sealed = bytearray(_sealed(data, []))
    sealed[where % len(sealed)] ^= 1 << bit
    with pytest.raises(backup.BackupAltered):
        _opened(bytes(sealed))


@settings(max_examples=examples(60), deadline=None)
@given(data=st.binary(max_size=60), cut=st.integers(1, 10**6))
def test_a_stream_cut_short_or_lengthened_is_refused(data: bytes, cut: int) -> None:
    sealed = _sealed(data, [])
    with pytest.raises(backup.BackupAltered):
        _opened(sealed[: len(sealed) - 1 - cut % len(sealed)])
    with pytest.raises(backup.BackupAltered):
        _opened(sealed + b"\x00")


def test_segments_are_bound_to_the_header_and_the_key() -> None:
    sealed = _sealed(b"a backup of a node" * 3, [])
    with pytest.raises(backup.BackupAltered):
        _opened(sealed, header=b"another header")
    with pytest.raises(backup.BackupAltered):
        _opened(sealed, key=bytes(32))


def test_a_header_round_trips_and_garbage_is_not_a_backup() -> None:
    tip = backup.Tip("metanode-dev", b"\x01" * 32, 7, b"\x02" * 32, b"\x03" * 32)
    header = backup.Header(tip, "v0", CHEAP, b"\x04" * 16, b"\x05" * 16)
    assert backup.Header.decode(header.encode()) == header
    for garbage in (b"", b"\xa0", header.encode()[:-1]):
        with pytest.raises(backup.NotABackup):
            backup.Header.decode(garbage)
    with pytest.raises(backup.NotABackup):
        backup.read_header(io.BytesIO(b"PK\x03\x04 not ours at all"))


# Real nodes -----------------------------------------------------------------------------------


def _files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*")) if root.exists() else []


def test_a_running_node_is_backed_up_and_restored_and_bad_backups_change_nothing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "v0.backup"
    with running(tmp_path / "net", 1) as cluster:
        cluster.wait_height(2, timeout_s=60)
        cluster.submit("v0", cluster.transfers(5))
        made = _bpci(
            "backup", "--key", "v0", "--out", str(out), "--home", str(cluster.home), "--json"
        )
        assert made.returncode == 0, made.stderr
        facts = json.loads(made.stdout)
        original = cluster.block("v0", facts["height"])
    assert out.stat().st_mode & 0o777 == 0o600
    assert facts["block_hash"] == original["hash"]
    with out.open("rb") as source:
        header, _ = backup.read_header(source)
    assert (header.tip.height, header.tip.block_hash.hex()) == (
        facts["height"],
        facts["block_hash"],
    )

    # Refusals first, each into a home that must stay as it was.
    fresh = tmp_path / "fresh"
    with pytest.raises(backup.WrongPassphrase):
        backup.restore_backup(out, fresh, "wrong horse")
    data = out.read_bytes()
    altered = tmp_path / "altered.backup"
    altered.write_bytes(
        data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 1]) + data[len(data) // 2 + 1 :]
    )
    with pytest.raises(backup.BackupAltered):
        backup.restore_backup(altered, fresh, "correct horse")
    refused = _bpci("restore", str(altered), "--home", str(fresh))
    assert refused.returncode == 1
    assert "altered" in refused.stderr
    truncated = tmp_path / "truncated.backup"
    truncated.write_bytes(data[:-100])
    with pytest.raises(backup.BackupAltered):
        backup.restore_backup(truncated, fresh, "correct horse")
    assert [path for path in _files(fresh) if path.is_file()] == []
    other = tmp_path / "other"
    dev_home.init_dev(other, validators=1, accounts=1, port_base=1, api_port_base=2)
    before = {path: path.read_bytes() for path in _files(other) if path.is_file()}
    (other / "nodes" / "v0").rename(other / "nodes" / "elsewhere")
    with pytest.raises(backup.WrongChain):
        backup.restore_backup(out, other, "correct horse")
    (other / "nodes" / "elsewhere").rename(other / "nodes" / "v0")
    assert {path: path.read_bytes() for path in _files(other) if path.is_file()} == before

    restored = backup.restore_backup(out, fresh, "correct horse")
    assert restored.node_directory == fresh / "nodes" / "v0"
    assert "genesis.json" in restored.installed
    assert backup.verify_ledger(restored.node_directory / "ledger") == header.tip
    _refused_when_altered(restored.node_directory / "ledger", tmp_path / "altered-ledger")
    with pytest.raises(ConfigError):  # the node's directory exists now: a second restore refuses
        backup.restore_backup(out, fresh, "correct horse")

    # The restored node carries the chain on from the backup's height.
    node = Cluster.at(fresh, {"v0": cluster.api_port["v0"]})
    node.start("v0")
    try:
        node.wait_height(header.tip.height + 2, timeout_s=60)
        assert node.block("v0", header.tip.height)["hash"] == original["hash"]
    finally:
        node.stop_all()


def _bpci(*arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "METANODE_BACKUP_PASSPHRASE": "correct horse"}
    command = [sys.executable, "-m", "metanode.cli.bpci", *arguments]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _refused_when_altered(ledger: Path, scratch: Path) -> None:
    """A ledger whose state no longer recomputes to the certified root, or whose tip carries
    another height's certificate, is refused."""
    for table, change in (("state", _change_a_value), ("certs", _swap_the_tip_certificate)):
        copy = scratch / table
        shutil.copytree(ledger, copy)
        env = lmdb.open(str(copy), max_dbs=16)
        with env.begin(write=True) as txn:
            change(txn, env.open_db(table.encode(), txn=txn))
        env.close()
        with pytest.raises(backup.BackupRefused):
            backup.verify_ledger(copy)


def _change_a_value(txn: lmdb.Transaction, db: object) -> None:
    key, value = next(iter(txn.cursor(db=db)))
    txn.put(key, value + b"\x00", db=db)


def _swap_the_tip_certificate(txn: lmdb.Transaction, db: object) -> None:
    cursor = txn.cursor(db=db)
    cursor.last()
    tip = cursor.key()
    cursor.prev()
    txn.put(tip, cursor.value(), db=db)


@pytest.mark.slow
def test_a_validator_backed_up_under_load_is_restored_on_a_fresh_home_and_agrees(
    tmp_path: Path,
) -> None:
    out = tmp_path / "v3.backup"
    with running(tmp_path / "net") as cluster:
        cluster.wait_height(2, timeout_s=120)
        load = cluster.transfers(25)
        cluster.submit("v0", load[: len(load) // 2])
        header = backup.write_backup(cluster.home, "v3", out, "correct horse", params=CHEAP)
        cluster.submit("v1", load[len(load) // 2 :])
        cluster.kill("v3")
        shutil.rmtree(cluster.home / "nodes" / "v3")  # its disk is lost
        fresh = tmp_path / "fresh"
        restored = backup.restore_backup(out, fresh, "correct horse")
        assert header.tip.height >= 2
        assert sorted(restored.installed)[0] == "genesis.json"
        node = Cluster.at(fresh, {"v3": cluster.api_port["v3"]})
        node.start("v3")
        try:
            target = cluster.height("v0") + 2
            node.wait_height(target, timeout_s=180)
            cluster.wait_height(target, ["v0"], timeout_s=180)
            assert node.block("v3", target)["hash"] == cluster.block("v0", target)["hash"]
            last = load[-1].hash().hex()
            cluster.wait(lambda: node.committed("v3", last), 120, "the load committed on v3")
        finally:
            node.stop_all()
