"""Relay storage on real processes (issue 22's first "must show"): 100 blobs on 6 validators
with 4-of-6 coding; a tampered chunk is refused; two nodes killed with SIGKILL; every blob
still reads and verifies from the survivors; the survivors report the dead holders, the
chain moves their shares, and the new holders rebuild them until every share of every blob
is held again. And a module past the inline limit, deployed by its root and then upgraded
to another by root, runs on two replicas that fetch each version from the storage nodes."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import httpx
import lmdb
import pytest

from metanode.crypto import ed25519
from metanode.node import home as dev_home
from metanode.node.blobs import fetch_share, placed, put_blob, read_blob, share_body
from metanode.storage import coding
from metanode.storage.errors import ChunkRejected
from metanode.types import Address, CallApp, PlaceBlob, Transaction
from metanode.types.messages import Message
from tests.cli.test_apps_cli import bpi
from tests.cli.test_apps_e2e import served
from tests.cli.test_blob_cli import deploy_big, fetched
from tests.node.cluster import Cluster
from tests.state.test_storage_modules import BIG_ID, NEXT

BLOBS = 100
CHUNK = 4096
CALLS = 6


def place_tx(key: ed25519.PrivateKey, nonce: int, message: Message) -> Transaction:
    unsigned = Transaction(dev_home.DEV_CHAIN_ID, key.public_key, nonce, 1_000, 10_000, message)
    return unsigned.with_signature(key.sign(unsigned.signing_message()))


def tamper(node_dir: Path, root: bytes, share: int) -> None:
    """Flip a byte of a stored chunk in the running node's own LMDB (as a rotting disk or a
    cheating operator would): LMDB's lock file makes a second process's write safe."""
    env = lmdb.open(str(node_dir / "blobs"), max_dbs=2, map_size=64 * 1024**3)
    chunks = env.open_db(b"chunks")
    key = root + share.to_bytes(2, "big") + (0).to_bytes(4, "big")
    with env.begin(write=True) as txn:
        chunk = bytearray(txn.get(key, db=chunks))
        chunk[0] ^= 0xFF
        txn.put(key, bytes(chunk), db=chunks)
    env.close()


def storage_cluster(home: Path, validators: int) -> Cluster:
    """A cluster (not started) whose every node has every node's gateway."""
    cluster = Cluster(home, validators=validators)
    gateways = ", ".join(f'"{cluster.url(name)}"' for name in cluster.names)
    for name in cluster.names:
        config = cluster.home / "nodes" / name / "config.toml"
        config.write_text(config.read_text().replace("gateways = []", f"gateways = [{gateways}]"))
    return cluster


@pytest.mark.slow
def test_blobs_survive_two_killed_nodes_and_are_repaired(tmp_path: Path) -> None:
    cluster = storage_cluster(tmp_path, 6)
    urls = [cluster.url(name) for name in cluster.names]
    for name in cluster.names:
        cluster.configure(name, "challenge_blocks", 3)
        cluster.configure(name, "grace_blocks", 40)
    cluster.start_all()
    try:
        asyncio.run(scenario(cluster, urls))
    finally:
        cluster.stop_all()


async def scenario(cluster: Cluster, urls: list[str]) -> None:
    cluster.wait_height(1, timeout_s=120)
    draw = random.Random(22)
    blobs = [draw.randbytes(draw.randint(1, 40_000)) for _ in range(BLOBS)]
    encoded = [coding.encode(blob, 4, 6, CHUNK) for blob in blobs]
    owner = cluster.dev_keys()[0]
    txs = [
        place_tx(owner, nonce, PlaceBlob(e.root, e.coded_root, len(b), CHUNK, 4, 6))
        for nonce, (b, e) in enumerate(zip(blobs, encoded, strict=True))
    ]
    # In batches within the mempool's nonce gap for one sender.
    for start in range(0, BLOBS, 50):
        results = cluster.submit(cluster.names[0], txs[start : start + 50])
        assert all(r["accepted"] for r in results), [r for r in results if not r["accepted"]][:2]
        cluster.wait(
            lambda results=results: all(
                cluster.committed(cluster.names[0], r["hash"]) for r in results
            ),
            240,
            "the placements to commit",
        )
    async with httpx.AsyncClient(timeout=60) as client:
        names: dict[Address, str] = {}
        for name, url in zip(cluster.names, urls, strict=True):
            answer = (await client.get(f"{url}/api/v1/blobs/node")).json()
            names[Address.parse(answer["address"])] = name
        nodes = {address: cluster.url(name) for address, name in names.items()}
        targets = [await placed(client, urls[0], e.root) for e in encoded]
        for target, e in zip(targets, encoded, strict=True):
            await put_blob(client, nodes, target, e)

        # A tampered share is refused at the door, and nothing of it is kept.
        first, e = targets[0], encoded[0]
        holder_url = nodes[first.holders[1]]
        forged = list(e.share(1))
        forged[0] = bytes([forged[0][0] ^ 1]) + forged[0][1:]
        refused = await client.put(
            f"{holder_url}/api/v1/blobs/{first.root.hex()}/shares/1",
            content=share_body(e.leaves, forged),
        )
        assert refused.status_code == 400 and refused.json()["reason"] == "chunk_not_in_blob"
        other = await client.put(
            f"{holder_url}/api/v1/blobs/{first.root.hex()}/shares/1",
            content=share_body(encoded[1].leaves, list(encoded[1].share(1))),
        )
        assert other.status_code == 400
        assert (await fetch_share(client, holder_url, first, 1)).chunks == tuple(e.share(1))

        # A chunk that rots on a node's disk is refused by the reader, who reads around it
        # (on a node killed below, so that its challengers' reports do not race the repair).
        dead = cluster.names[4:]
        rotten = next(t for t in targets[1:] if names[t.holders[0]] == dead[0])
        tamper(cluster.home / "nodes" / dead[0], rotten.root, 0)
        with pytest.raises(ChunkRejected):
            await fetch_share(client, nodes[rotten.holders[0]], rotten, 0)

        for target, blob in zip(targets, blobs, strict=True):
            assert await read_blob(client, nodes, target) == blob

        # The CLI: a file put, read back whole and verified.
        file = cluster.home / "file.bin"
        file.write_bytes(draw.randbytes(30_000))
        put_cli = bpi(cluster, "blob", "put", str(file), "--chunk-bytes", str(CHUNK))
        assert put_cli["tx"]["ok"] and (put_cli["k"], put_cli["n"]) == (4, 6)
        copy = cluster.home / "copy.bin"
        assert bpi(cluster, "blob", "get", put_cli["root"], "--out", str(copy))["size"] == 30_000
        assert copy.read_bytes() == file.read_bytes()
        encoded.append(coding.encode(file.read_bytes(), 4, 6, CHUNK))
        blobs.append(file.read_bytes())
        targets.append(await placed(client, urls[0], encoded[-1].root))

        # Two nodes die; every blob still reads from the survivors.
        for name in dead:
            cluster.kill(name)
        alive = {address: url for address, url in nodes.items() if names[address] not in dead}
        for target, blob in zip(targets, blobs, strict=True):
            assert await read_blob(client, alive, target) == blob

        # Repair: every share of every blob placed on a survivor again, and held there.
        survivor = next(iter(alive.values()))

        async def repaired() -> bool:
            for e in encoded:
                target = await placed(client, survivor, e.root)
                for share, holder in enumerate(target.holders):
                    if holder not in alive:
                        return False
                    view = (await client.get(f"{alive[holder]}/api/v1/blobs/{e.root.hex()}")).json()
                    if share not in view["held_here"]:
                        return False
            return True

        deadline = asyncio.get_running_loop().time() + 600
        while not await repaired():
            assert asyncio.get_running_loop().time() < deadline, "repair did not finish in 600 s"
            await asyncio.sleep(2)
        for e, blob in zip(encoded, blobs, strict=True):
            target = await placed(client, survivor, e.root)
            assert await read_blob(client, alive, target) == blob
            # Full redundancy: each share alone is there and verifies.
            for share, holder in enumerate(target.holders):
                await fetch_share(client, alive[holder], target, share)
        status = bpi(cluster, "blob", "status", put_cli["root"])
        assert status["readable"] and status["held"] == [True] * 6


@pytest.mark.slow
def test_a_module_past_the_inline_limit_deployed_by_root_runs_on_two_replicas(
    tmp_path: Path,
) -> None:
    """Four validators, each with the others' gateways: a module too large for a transaction
    is placed 2-of-4 and deployed by its root; both drawn replicas fetch it from the holders
    and run its calls, and their receipts agree; so again after the owner upgrades the app
    to another module by root."""
    cluster = storage_cluster(tmp_path, 4)
    cluster.start_all()
    try:
        cluster.wait_height(1, timeout_s=120)
        deployed = deploy_big(cluster, tmp_path, 2, 4, 2)
        assert deployed["tx"]["ok"] and deployed["app"] == BIG_ID.hex()
        app = deployed["app"]
        keys = cluster.dev_keys()[1:]

        def calls_agree(nonce: int, version: int) -> None:
            """CALLS more calls, one from each key at `nonce`: both drawn replicas serve each
            and agree, and at least two nodes fetched and checked the version's module."""
            message = CallApp(BIG_ID, 0, "increment", b"", 100_000)
            txs = [place_tx(key, nonce, message) for key in keys[:CALLS]]
            assert all(result["accepted"] for result in cluster.submit("v0", txs))
            total = CALLS * (nonce + 1)

            def answered() -> bool:
                receipts = served(cluster, app)
                return len(receipts) == total and all(len(pair) == 2 for pair in receipts.values())

            cluster.wait(answered, 300, f"both replicas' receipts of {total} calls")
            for seq, pair in served(cluster, app).items():
                first, second = pair
                assert first["node"] != second["node"]
                for field in ("outcome", "state_root_after", "output"):
                    assert first[field] == second[field], (seq, field)
            assert len([name for name in cluster.names if fetched(cluster, name, version)]) >= 2

        calls_agree(0, 1)
        # The owner upgrades the app to another module by root: the replicas fetch and check
        # version 2, and run the next calls on it, on the state so far.
        module = tmp_path / "next.wasm"
        module.write_bytes(NEXT)
        upgrade = ("upgrade", app, str(module), "--via-storage", "--k", "2", "--n", "4")
        assert bpi(cluster, *upgrade)["version"] == 2
        calls_agree(1, 2)
        last = max(served(cluster, app).items())[1][0]
        assert last["output"] == (2 * CALLS).to_bytes(8, "little").hex()
    finally:
        cluster.stop_all()
