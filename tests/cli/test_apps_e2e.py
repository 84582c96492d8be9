"""Issue 17 end to end on real processes: a 4-validator dev network hosts examples/counter.wat
with 2 replicas; 100 calls are executed by the drawn executors, their receipts agree pairwise,
the notary committee cuts LogBlocks that land on chain, every receipt's inclusion proof
verifies against its LogBlock's on-chain root, the NEX minted and the FLX charged are what
docs/economics.md's formulas give (computed here, with none of state/poe's or billing's code),
and every module's invariants (the supply's among them) held after every block."""

from __future__ import annotations

import collections
import contextlib
import itertools
import math
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from metanode.crypto import ed25519, merkle
from metanode.docklock import cage
from metanode.node import home as dev_home
from metanode.state.bank.accounts import module_address
from metanode.types import Address, CallApp, Transaction
from tests.cli.test_apps_cli import COUNTER, bpi
from tests.node.cluster import Cluster, running

pytestmark = pytest.mark.slow
CALLS = 100
REPLICAS = 2
TX_FEE = 1_000  # FLX base units, each call transaction's
FUEL_PRICE = 2  # FLX base units per fuel: --fuel-price 0.000000002
TREASURY_FEE_BPS = 1_000  # set in the genesis below, so the treasury's share is not zero
# docs/economics.md, written out here: the test shares no code with state/poe or billing.
FUEL_PER_CPU_MS = 1_000_000
# (weight, scale) of cpu_ms, memory_mb_s, storage_gb_day, egress_mb, receipts_count
POE = [
    (Fraction(35, 100), 1_000),
    (Fraction(15, 100), 1_000),
    (Fraction(15, 100), 1),
    (Fraction(15, 100), 10),
    (Fraction(20, 100), 100),
]
REWARD_BASE_UNITS = 1_000 * 10**9  # 1000 NEX; A = 1
DAY_MS = 86_400_000


@contextlib.contextmanager
def network(
    home: Path, epoch_blocks: int | None = None, settings: Mapping[str, int] | None = None
) -> Iterator[Cluster]:
    """Four validators with the test clusters' 1-block epochs (a new executor draw each block),
    unless `epoch_blocks` is given, and a treasury share of TREASURY_FEE_BPS; `settings` go
    into every node's config."""

    def edit(genesis: dict[str, Any]) -> None:
        genesis["parameters"].setdefault("auth", {})["treasury_fee_bps"] = TREASURY_FEE_BPS
        if epoch_blocks is not None:
            genesis["parameters"].setdefault("staking", {})["epoch_blocks"] = epoch_blocks

    with running(home, 4, settings, genesis=edit) as cluster:
        yield cluster


def calls(
    cluster: Cluster,
    app_id: bytes,
    count: int = CALLS,
    start: int = 0,
    senders: Sequence[ed25519.PrivateKey] = (),
) -> list[Transaction]:
    """`count` signed increment calls, in turn from each of `senders` (by default every dev
    account but dev0, which deploys), after the `start` calls made before."""
    txs = []
    keys = list(senders) or cluster.dev_keys()[1:]
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


def nex_minted(logblock_leaves: list[list[dict[str, Any]]]) -> dict[Address, int]:
    """NEX (base units) minted to each executor for these LogBlocks' leaves, in chain order:
    per LogBlock and executor, Φ = Σ wᵢ·uᵢ/sᵢ over its leaves' usage, Γ = Φ/(1+Φ),
    floor(1000 NEX · Γ)."""
    minted: collections.Counter[Address] = collections.Counter()
    held_since: dict[str, tuple[int, int]] = {}  # executor → (block time, state bytes) held
    for leaves in logblock_leaves:
        by_executor: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        for leaf in leaves:
            by_executor[leaf["executor"]].append(leaf)
        for executor, mine in by_executor.items():
            held = [held_since[executor]] if executor in held_since else []
            held += [(leaf["block_time"], leaf["state_bytes"]) for leaf in mine]
            byte_ms = sum(
                size * (later - earlier) for (earlier, size), (later, _) in itertools.pairwise(held)
            )
            usage = [
                Fraction(sum(leaf["fuel_used"] for leaf in mine), FUEL_PER_CPU_MS),
                sum(
                    Fraction(leaf["peak_memory_bytes"], 10**6)
                    * Fraction(leaf["fuel_used"], FUEL_PER_CPU_MS * 1_000)
                    for leaf in mine
                ),
                Fraction(byte_ms, 10**9 * DAY_MS),
                Fraction(sum(leaf["output_bytes"] for leaf in mine), 10**6),
                Fraction(len(mine)),
            ]
            phi = sum(
                weight * used / scale for (weight, scale), used in zip(POE, usage, strict=True)
            )
            minted[Address.from_public_key(bytes.fromhex(executor))] += math.floor(
                REWARD_BASE_UNITS * phi / (1 + phi)
            )
            held_since[executor] = held[-1]
    return minted


def fees_charged(leaves: list[dict[str, Any]]) -> tuple[dict[int, int], int]:
    """Each call's FLX charge (fuel used × price) and the treasury's total share of them."""
    by_call: dict[int, list[dict[str, Any]]] = collections.defaultdict(list)
    for leaf in leaves:
        by_call[leaf["call_seq"]].append(leaf)
    charges, treasury = {}, 0
    for seq, served in by_call.items():
        assert len({leaf["fuel_used"] for leaf in served}) == 1, seq
        charge = served[0]["fuel_used"] * FUEL_PRICE
        share = charge * TREASURY_FEE_BPS // 10_000
        each = (charge - share) // len(served)
        charges[seq] = charge
        treasury += share + (charge - share) - each * len(served)
    return charges, treasury


def balance(cluster: Cluster, address: Address | str, denom: str) -> int:
    return int(cluster.get("v0", f"/api/v1/accounts/{address}")["balances"][denom])


def notarised_leaves(cluster: Cluster, receipt_hashes: set[str]) -> list[list[dict[str, Any]]]:
    """The leaves of the app's LogBlocks, by LogBlock number and in leaf order."""
    found: dict[int, dict[int, dict[str, Any]]] = collections.defaultdict(dict)
    for receipt_hash in receipt_hashes:
        answer = cluster.client.get(cluster.url("v0") + f"/api/v1/receipts/{receipt_hash}")
        if answer.status_code == 404:
            continue  # a replica's receipt a LogBlock left out
        answer.raise_for_status()
        view = answer.json()
        found[view["logblock_number"]][view["leaf_index"]] = view["leaf"]
    return [[leaves[index] for index in sorted(leaves)] for _, leaves in sorted(found.items())]


def test_calls_are_executed_by_two_replicas_and_notarised_on_chain(tmp_path: Path) -> None:
    with network(tmp_path / "net") as cluster:
        cluster.wait_height(1)
        app_id = deploy_counter(cluster, tmp_path)
        app = app_id.hex()
        validators = [cluster.get(name, "/api/v1/status")["node_id"] for name in cluster.names]
        callers = sorted(
            {str(Address.from_public_key(key.public_key)) for key in cluster.dev_keys()[1:]}
        )
        nex_before = {address: balance(cluster, address, "NEX") for address in validators}
        flx_before = {address: balance(cluster, address, "FLX") for address in callers}
        escrow = module_address("apps/escrow")
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

        # NEX and FLX, from the notarised leaves by the formulas, against the balances.
        hashes = {receipt["hash"] for pair in served(cluster, app).values() for receipt in pair}
        by_logblock = notarised_leaves(cluster, hashes)
        assert [len(leaves) for leaves in by_logblock] == [
            block["leaves"] for block in logblocks(cluster, app)
        ]
        minted = nex_minted(by_logblock)
        assert minted and sum(minted.values()) > 0
        for address in validators:
            assert (
                balance(cluster, address, "NEX") - nex_before[address]
                == minted[Address.parse(address)]
            ), address
        charges, _ = fees_charged([leaf for leaves in by_logblock for leaf in leaves])
        assert sorted(charges) == list(range(CALLS + 1))
        page = cluster.get("v0", f"/api/v1/apps/{app}/calls?limit=500")["calls"]
        spent: collections.Counter[str] = collections.Counter()
        for record in page:
            assert (
                record["status"] == "settled"
                and record["fuel_used"] * FUEL_PRICE == charges[record["seq"]]
            )
            spent[record["caller"]] += TX_FEE + charges[record["seq"]]
        for address in callers:
            assert flx_before[address] - balance(cluster, address, "FLX") == spent[address], address
        assert balance(cluster, escrow, "FLX") == 0

        # Every block re-executed from genesis, with every module's invariants after each.
        checked = subprocess.run(
            [
                sys.executable,
                "-m",
                "metanode.cli.main",
                "store",
                "check",
                "--full",
                "--skip-signatures",
                "--invariants",
                "--home",
                str(cluster.home / "nodes" / "v0"),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout.strip().endswith("invariants=held")
