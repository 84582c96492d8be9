"""Issue 17 end to end on real processes: a 4-validator dev network hosts examples/counter.wat
with 2 replicas; 100 calls are executed by the drawn executors, their receipts agree pairwise,
the notary committee cuts LogBlocks that land on chain, and every receipt's inclusion proof
verifies against its LogBlock's on-chain root."""

from __future__ import annotations

import collections
import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from metanode.crypto import merkle
from metanode.docklock import cage
from metanode.node import home as dev_home
from metanode.types import CallApp, Transaction
from tests.cli.test_apps_cli import COUNTER, bpi
from tests.node.cluster import Cluster

pytestmark = pytest.mark.slow
CALLS = 100
REPLICAS = 2


@contextlib.contextmanager
def network(
    home: Path, epoch_blocks: int | None = None, settings: Mapping[str, int] | None = None
) -> Iterator[Cluster]:
    """Four validators with dev's 1-block epochs (a new executor draw each block), unless
    `epoch_blocks` is given; `settings` go into every node's config."""
    cluster = Cluster(home, validators=4)
    if epoch_blocks is not None:
        genesis_path = cluster.home / dev_home.GENESIS
        genesis = json.loads(genesis_path.read_text())
        genesis["parameters"].setdefault("staking", {})["epoch_blocks"] = epoch_blocks
        genesis_path.write_text(json.dumps(genesis, indent=2))
    for name in cluster.names:
        for setting, value in (settings or {}).items():
            cluster.configure(name, setting, value)
    cluster.start_all()
    try:
        yield cluster
    finally:
        cluster.stop_all()


def calls(cluster: Cluster, app_id: bytes, count: int = CALLS, start: int = 0) -> list[Transaction]:
    """`count` signed increment calls from every dev account but dev0 (it deploys), after the
    `start` calls made before."""
    txs = []
    keys = cluster.dev_keys()[1:]
    for index in range(start, start + count):
        key = keys[index % len(keys)]
        unsigned = Transaction(
            dev_home.DEV_CHAIN_ID,
            key.public_key,
            index // len(keys),
            1_000,
            10_000,
            CallApp(app_id, 0, "increment", b"", 100_000),
        )
        txs.append(unsigned.with_signature(key.sign(unsigned.signing_message())))
    return txs


def deploy_counter(cluster: Cluster, directory: Path) -> bytes:
    """Deploy examples/counter.wat with REPLICAS replicas; its app id."""
    module = directory / "counter.wat"
    module.write_text(COUNTER.read_text())
    (directory / "app.toml").write_text(f"[app]\nreplicas = {REPLICAS}\nfuel_limit = 100000\n")
    bpi(cluster, "deploy", str(module), "--fuel-price", "0.000000002")
    return cage.app_id(cage.wat_to_wasm(COUNTER.read_text()))


def served(cluster: Cluster, app: str) -> dict[int, list[dict]]:
    """Every node's receipts of the app, by call."""
    receipts: dict[int, list[dict]] = collections.defaultdict(list)
    for name in cluster.processes:
        page = cluster.get(name, f"/api/v1/apps/{app}/receipts?limit=500")
        for receipt in page["receipts"]:
            receipts[receipt["seq"]].append({**receipt, "node": name})
    return receipts


def logblocks(cluster: Cluster, app: str) -> list[dict]:
    return cluster.get("v0", f"/api/v1/logblocks?app={app}&limit=100")["logblocks"]


def test_calls_are_executed_by_two_replicas_and_notarised_on_chain(tmp_path: Path) -> None:
    with network(tmp_path / "net") as cluster:
        cluster.wait_height(1)
        app_id = deploy_counter(cluster, tmp_path)
        app = app_id.hex()
        results = cluster.submit("v0", calls(cluster, app_id))
        assert all(result["accepted"] for result in results), results

        def notarised() -> bool:
            found = logblocks(cluster, app)
            return bool(found) and found[-1]["last_seq"] >= CALLS - 1

        cluster.wait(notarised, 120, "LogBlocks covering every call")

        receipts = served(cluster, app)
        assert sorted(receipts) == list(range(CALLS))
        for seq, pair in receipts.items():
            assert len(pair) == REPLICAS, seq
            first, second = pair
            assert first["node"] != second["node"]
            for field in ("outcome", "fuel_used", "state_root_after", "output"):
                assert first[field] == second[field], (seq, field)

        roots = {block["number"]: block["root"] for block in logblocks(cluster, app)}
        assert sum(block["leaves"] for block in logblocks(cluster, app)) == CALLS * REPLICAS
        for pair in receipts.values():
            for receipt in pair:
                proof = cluster.get("v2", f"/api/v1/receipts/{receipt['hash']}/proof")
                assert proof["root"] == roots[proof["logblock_number"]]
                merkle.verify_inclusion(
                    bytes.fromhex(receipt["hash"]),
                    proof["leaf_index"],
                    proof["tree_size"],
                    [bytes.fromhex(step) for step in proof["path"]],
                    bytes.fromhex(proof["root"]),
                )

        # A lone call after the chain has notarised everything: --wait sees its receipt and
        # then the LogBlock that holds it.
        waited = bpi(cluster, "call", app, "increment", "--wait", "--wait-s", "60")
        assert waited["seq"] == CALLS
        assert waited["outcome"] == "ok" and waited["receipt"]
        lone = cluster.get("v0", f"/api/v1/logblocks?app={app}&limit=100")["logblocks"][-1]
        assert (lone["first_seq"], lone["last_seq"]) == (CALLS, CALLS)
        assert 1 <= lone["leaves"] <= REPLICAS
        assert waited["logblock"] == lone["hash"]
