"""Snapshots (node/snapshots.py): chunks, manifests, the fetch's blame and retry, and local
recovery, on the snapshots of a real one-validator chain."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.consensus.validators import ValidatorSet
from metanode.crypto.hashing import blake3_hash
from metanode.net.frames import GetSnapshot
from metanode.node import backup, snapshots
from metanode.node import home as dev_home
from metanode.state.store import LEDGER_DIR, Store
from metanode.types import Address

from .cluster import Cluster, running, tiny_second_validator

HONEST, LIAR, FORGER = (Address(bytes([n]) * 20) for n in (1, 2, 3))


@given(st.dictionaries(st.binary(max_size=40), st.binary(max_size=300), min_size=1, max_size=60))
def test_chunks_carry_the_items_in_order(items: dict[bytes, bytes]) -> None:
    ordered = sorted(items.items())
    read: list[tuple[bytes, bytes]] = []
    for chunk in snapshots.chunked(iter(ordered), size=200):
        read += snapshots.decode_chunk(chunk, read[-1][0] if read else None)
    assert read == ordered


def test_chunk_keys_out_of_order_or_malformed_are_refused() -> None:
    with pytest.raises(snapshots.SnapshotError, match="snapshot_order"):
        snapshots.decode_chunk(snapshots.encode_chunk([(b"b", b""), (b"a", b"")]), None)
    with pytest.raises(snapshots.SnapshotError, match="snapshot_order"):
        snapshots.decode_chunk(snapshots.encode_chunk([(b"a", b"")]), b"a")
    for garbage in (b"", b"\x80", snapshots.encode_chunk([])):
        with pytest.raises(snapshots.SnapshotError, match="snapshot_malformed"):
            snapshots.decode_chunk(garbage, None)
    with pytest.raises(snapshots.SnapshotError, match="snapshot_malformed"):
        snapshots.Manifest.decode(b"\xa0")


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A running chain whose v0 makes snapshots and holds the quorum alone; v1 is stopped."""
    home = tmp_path_factory.mktemp("chain") / "net"
    settings = {"snapshot_interval_blocks": 2}
    with running(home, 2, settings, genesis=tiny_second_validator) as cluster:
        cluster.kill("v1")
        cluster.wait_height(1, ["v0"], timeout_s=60)
        cluster.submit("v0", cluster.transfers(3))
        cluster.wait_height(5, ["v0"], timeout_s=60)
        yield cluster


@pytest.fixture
def chain(network: Cluster) -> Path:
    """The directory of the node that makes snapshots."""
    return network.home / "nodes" / "v0"


def test_a_node_joins_by_state_sync_and_agrees(network: Cluster) -> None:
    for store in ("ledger", "consensus", "executor"):
        shutil.rmtree(network.home / "nodes" / "v1" / store, ignore_errors=True)
    network.start("v1", "--state-sync")
    network.wait(lambda: network.height("v1") > 0, 120, "v1 to install a snapshot")
    target = network.height("v0") + 1
    network.wait_height(target, ["v0", "v1"], timeout_s=120)
    assert network.block("v1", target)["hash"] == network.block("v0", target)["hash"]
    assert '"state synced"' in network.log("v1")
    assert httpx.get(network.url("v1") + "/api/v1/blocks/1", timeout=10).status_code == 404
    network.kill("v1")


def _genesis(node_dir: Path):  # type: ignore[no-untyped-def]
    return dev_home.read_genesis(node_dir.parent.parent / dev_home.GENESIS)


def _small_snapshot(
    node_dir: Path, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> snapshots.Manifest:
    monkeypatch.setattr(snapshots, "chunk_bytes", 300)
    with Store.open(node_dir / LEDGER_DIR, readonly=True) as store:
        return snapshots.make(store, directory, keep=1)


def _serve(directory: Path, alter: Callable[[int, bytes], bytes]) -> Callable[[GetSnapshot], bytes]:
    def serve(request: GetSnapshot) -> bytes:
        return alter(request.index, snapshots.part(directory, request.height, request.index)[1])

    return serve


def _run(
    fetch: snapshots.Fetch, peers: dict[Address, Callable[[GetSnapshot], bytes]]
) -> tuple[list[tuple[Address, str]], snapshots.Assembled]:
    """Drive the fetch to completion: the blames on the way, and the verified snapshot."""
    blames = []
    for now in range(0, 10**6, 10):
        if fetch.complete:
            assembled = fetch.assemble()
            if isinstance(assembled, snapshots.Assembled):
                return blames, assembled
            blames.append(assembled)
        for peer, request in fetch.requests(sorted(peers), now):
            data = peers[peer](request)
            blame = fetch.on_part(
                peer, request.height or _height(data, request), request.index, data
            )
            if blame is not None:
                blames.append((peer, blame))
    raise AssertionError("the fetch did not finish")


def _height(data: bytes, request: GetSnapshot) -> int:
    return snapshots.Manifest.decode(data).height if request.index == 0 and data else 0


def test_a_fetch_drops_a_peer_that_serves_a_bad_chunk_and_gets_it_elsewhere(
    chain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = _small_snapshot(chain, tmp_path / "snaps", monkeypatch)
    assert len(manifest.chunk_hashes) > 3

    def flip(index: int, data: bytes) -> bytes:
        return data if index == 0 or not data else data[:-1] + bytes([data[-1] ^ 1])

    honest = _serve(tmp_path / "snaps", lambda _index, data: data)
    fetch = snapshots.Fetch(manifest.chain_id, snapshots.genesis_set(_genesis(chain)))
    blames, assembled = _run(fetch, {HONEST: honest, LIAR: _serve(tmp_path / "snaps", flip)})
    assert blames == []  # the manifest came from HONEST (peers are asked in address order)
    assert assembled.blamed == (LIAR,)
    assert assembled.tree.root == manifest.block.header.state_root
    assert assembled.manifest.chunk_hashes == manifest.chunk_hashes


def test_a_manifest_whose_chunks_do_not_make_the_certified_root_is_refused_and_replaced(
    chain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = _small_snapshot(chain, tmp_path / "snaps", monkeypatch)
    # A forger serves a self-consistent snapshot of a changed state under the real header.
    forged_dir = tmp_path / "forged"
    shutil.copytree(tmp_path / "snaps", forged_dir)
    folder = forged_dir / str(manifest.height)
    items = snapshots.decode_chunk((folder / "0").read_bytes(), None)
    items[0] = (items[0][0], items[0][1] + b"\x00")
    forged_chunk = snapshots.encode_chunk(items)
    (folder / "0").write_bytes(forged_chunk)
    hashes = (blake3_hash(forged_chunk), *manifest.chunk_hashes[1:])
    (folder / "manifest").write_bytes(dataclasses.replace(manifest, chunk_hashes=hashes).encode())
    fetch = snapshots.Fetch(manifest.chain_id, snapshots.genesis_set(_genesis(chain)))
    forger = _serve(forged_dir, lambda _index, data: data)
    honest = _serve(tmp_path / "snaps", lambda _index, data: data)
    blames, assembled = _run(fetch, {HONEST: _after(fetch, FORGER, honest), FORGER: forger})
    assert blames == [(FORGER, "snapshot_root_mismatch")]
    # HONEST served the real chunk, which the forged manifest did not name: not blamed.
    assert assembled.blamed == ()
    assert assembled.tree.root == manifest.block.header.state_root


def _after(
    fetch: snapshots.Fetch, first: Address, serve: Callable[[GetSnapshot], bytes]
) -> Callable[[GetSnapshot], bytes]:
    """`serve`, but no manifest until `first` is banned (so `first`'s is taken first)."""

    def serving(request: GetSnapshot) -> bytes:
        return b"" if request.index == 0 and first not in fetch.banned else serve(request)

    return serving


def test_restore_latest_rebuilds_a_ledger_that_verifies_and_skips_a_damaged_snapshot(
    chain: Path, tmp_path: Path
) -> None:
    node_dir = tmp_path / "v0"
    shutil.copytree(chain, node_dir)
    heights = snapshots.held(node_dir / snapshots.SNAPSHOTS_DIR)
    assert len(heights) == 2  # snapshots_keep
    newest = node_dir / snapshots.SNAPSHOTS_DIR / str(heights[-1]) / "0"
    newest.write_bytes(newest.read_bytes() + b"\x00")
    assert snapshots.restore_latest(node_dir, _genesis(chain)) == heights[0]
    tip = backup.verify_ledger(node_dir / LEDGER_DIR)
    assert tip.height == heights[0]
    with Store.open(node_dir / LEDGER_DIR, readonly=True) as store:
        assert store.block(heights[0] - 1) is None
    shutil.rmtree(node_dir / snapshots.SNAPSHOTS_DIR / str(heights[0]))
    with pytest.raises(snapshots.SnapshotError, match="no snapshot"):
        snapshots.restore_latest(node_dir, _genesis(chain))


def _lesser_set(node_dir: Path) -> ValidatorSet:
    """Only the genesis validator with a thousandth of the power, which never signs here: a
    trusted set no snapshot of this chain can satisfy by the genesis set's third."""
    genesis = snapshots.genesis_set(_genesis(node_dir))
    return ValidatorSet((min(genesis.validators, key=lambda member: member.power),))


def test_a_trusted_block_is_installed_in_place_of_the_genesis_sets_third(
    chain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = _small_snapshot(chain, tmp_path / "snaps", monkeypatch)
    honest = _serve(tmp_path / "snaps", lambda _index, data: data)
    lesser = _lesser_set(chain)
    untrusted = snapshots.Fetch(manifest.chain_id, lesser)
    for _ in range(len(manifest.chunk_hashes) + 1):  # one part at least a round
        for peer, request in untrusted.requests([HONEST], 0):
            data = honest(request)
            untrusted.on_part(peer, request.height or _height(data, request), request.index, data)
    assert untrusted.complete
    assert untrusted.assemble() == (HONEST, "snapshot_not_trusted")
    trust = snapshots.Trust(manifest.height, manifest.block.hash())
    trusting = snapshots.Fetch(manifest.chain_id, lesser, trust)
    asked = trusting.requests([HONEST], 0)
    assert [request.height for _peer, request in asked] == [manifest.height]
    blames, assembled = _run(trusting, {HONEST: honest})
    assert blames == [] and assembled.manifest.height == manifest.height
    assert assembled.tree.root == manifest.block.header.state_root


def test_a_snapshot_of_another_block_than_the_trusted_one_is_refused(
    chain: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = _small_snapshot(chain, tmp_path / "snaps", monkeypatch)
    honest = _serve(tmp_path / "snaps", lambda _index, data: data)
    trust = snapshots.Trust(manifest.height, blake3_hash(b"another block"))
    fetch = snapshots.Fetch(manifest.chain_id, snapshots.genesis_set(_genesis(chain)), trust)
    ((peer, request),) = fetch.requests([HONEST], 0)
    data = honest(request)
    assert fetch.on_part(peer, request.height, 0, data) == "snapshot_not_trusted"
    assert fetch.banned == {HONEST} and fetch.manifest is None
    assert fetch.requests([HONEST], 10) == []
    # A peer without a snapshot of the trusted height is passed over, not blamed.
    elsewhere = snapshots.Fetch(
        manifest.chain_id,
        snapshots.genesis_set(_genesis(chain)),
        snapshots.Trust(manifest.height + 1, manifest.block.hash()),
    )
    ((peer, request),) = elsewhere.requests([LIAR], 0)
    assert honest(request) == b""
    assert elsewhere.on_part(peer, request.height, 0, b"") is None
    assert elsewhere.banned == set()
    with pytest.raises(snapshots.SnapshotError, match="snapshot_not_trusted"):
        snapshots.verify_state(manifest, [], _lesser_set(chain), trust)
