"""Issue 16's real-process story: a node joins a running 4-validator dev network through the
CLIs, enters the validator set at an epoch boundary and signs certificates, then equivocates
(the test harness of node/misbehaviour.py), is slashed and jailed by the evidence a proposer
puts in a block, and leaves the set at the following epoch, while the chain never stops.

Nothing is simulated: `metanode start` processes, TLS links, LMDB ledgers, the `bpci`,
`bpci-core` and `metanode` commands an operator runs. No node is restarted to admit the new
one: `bpci-core register` announces it (node/admission.py). Behind `-m slow`: it takes from
48 s on an idle 2-core machine to over two minutes on a loaded one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from metanode.state import constants as state_constants
from metanode.types import Address
from tests.node.cluster import Cluster, running

BIN = Path(sys.executable).parent
COIN = state_constants.base_units_per_coin
EPOCH_BLOCKS = 5
GENESIS_STAKE_COINS = 10_000_000  # each; the new node's 2,000,000 stays well below a third
JOINED_STAKE_COINS = 2_000_000  # 1,000,000 by registering, 1,000,000 by `bpci-core validator`
SLASH_BPS = 500  # the registry's default slash_fraction_bps


def ok(*argv: str) -> dict[str, Any]:
    done = subprocess.run(
        [str(BIN / argv[0]), *argv[1:], "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)  # type: ignore[no-any-return]


@pytest.fixture()
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    def edit(genesis: dict[str, Any]) -> None:
        genesis["parameters"]["staking"] = {"epoch_blocks": EPOCH_BLOCKS}
        for validator in genesis["validators"]:
            validator["stake"] = GENESIS_STAKE_COINS * COIN
        genesis["accounts"][0]["balances"]["GEN"] = 3 * JOINED_STAKE_COINS * COIN

    # An idle chain moves on at a quicker cadence.
    settings = {"empty_block_delay_ms": 300}
    with running(tmp_path / "net", 4, settings, genesis=edit, accounts=2) as cluster:
        yield cluster


def set_members(cluster: Cluster) -> list[str]:
    return [item["address"] for item in cluster.get("v0", "/api/v1/validators")["validators"]]


def signed_by(cluster: Cluster, height: int, address: str) -> bool:
    """Whether `address`'s seal is in the certificate of `height`, read against the set that
    decided it (its bit in the signer bitmap, validators in address order)."""
    certificate = cluster.block("v0", height)["certificate"]
    bitmap = bytes.fromhex(certificate["signer_bitmap"])
    members = sorted(Address.parse(a) for a in set_members(cluster))
    index = members.index(Address.parse(address))
    return bool(bitmap[index // 8] >> (index % 8) & 1) if index // 8 < len(bitmap) else False


def set_changed_at(cluster: Cluster, after: int) -> int:
    """The first height above `after` signed by another set than `after` (block headers)."""
    before = cluster.block("v0", after)["validator_set_hash"]
    height = after + 1
    while True:
        # /validators answers the set of the next block, so the change may not be committed yet
        cluster.wait(lambda h=height: cluster.height("v0") >= h, 30, f"block {height}")
        if cluster.block("v0", height)["validator_set_hash"] != before:
            return height
        height += 1


def left_set_at(cluster: Cluster, after: int, address: str) -> int:
    """The first height above `after` whose signing set lacks `address`. Not merely the first
    set change: under load another validator may be jailed for missed commits before it."""
    height = after + 1
    while True:
        answer = cluster.get("v0", f"/api/v1/validators?height={height}")
        if address not in {item["address"] for item in answer["validators"]}:
            return height
        height += 1


def progress(cluster: Cluster, what: str) -> int:
    """The chain moves on: v0 commits two more blocks."""
    start = cluster.height("v0")
    cluster.wait(lambda: cluster.height("v0") >= start + 2, 30, f"two more blocks {what}")
    return cluster.height("v0")


@pytest.mark.slow  # 48 s on an idle 2-core machine, 106-134 s at a load average of 9
def test_a_node_joins_signs_equivocates_is_slashed_and_leaves_while_the_chain_goes_on(
    cluster: Cluster, tmp_path: Path
) -> None:
    cluster.wait_height(1, timeout_s=60)
    gateway = cluster.url("v0")
    home = str(cluster.home)
    new_home = tmp_path / "new"

    # bpci join: genesis and the pinned peers from v0; nobody pins the new node.
    joined = ok("bpci", "join", "--peer", gateway, "--home", str(new_home))
    address = joined["node_id"]
    node_dir = Path(joined["node_dir"])
    for denom, coins in (("GEN", JOINED_STAKE_COINS + 1), ("FLX", 100)):
        ok("metanode", "tx", "send", "--to", address, "--amount", str(coins), "--denom", denom,
           "--from", "dev0", "--wait", "--home", home)  # fmt: skip

    # Its DID, and a full-KYC credential for it from the dev chain's bank authority.
    did = ok("metanode", "did", "create", "--from", "node", "--home", str(new_home),
             "--node", gateway)["did"]  # fmt: skip
    credential = tmp_path / "kyc.json"
    ok("metanode", "credential", "issue", "--from", "bank", "--subject", did, "--level", "full",
       "--index", "1", "--out", str(credential), "--home", home)  # fmt: skip

    registered = ok("bpci-core", "register", "--enterprise", "--key", "node", "--kyc",
                    str(credential), "--home", str(new_home), "--node", gateway)  # fmt: skip
    assert registered["tx"]["status"] == "committed" and registered["kyc_level"] == "full"
    assert registered["peer_admitted"] == address
    bonded = ok("bpci-core", "validator", "--key", "node", "--stake", "1000000",
                "--home", str(new_home), "--node", gateway)  # fmt: skip
    assert bonded["tx"]["ok"]
    registered_at = progress(cluster, "after registering")

    # Every running node admitted it (v0 by the announcement, the others by gossip), and
    # keeps it beside its config for its next start.
    for name in cluster.names:
        assert (cluster.home / "nodes" / name / "admitted" / f"{address}.pem").exists(), name

    # It enters the set at an epoch's first height (the other four hold the quorum while it
    # is down), then starts and syncs from genesis, checking each block's certificate against
    # the set in force at its height: four validators' below `entered`, five from there on.
    cluster.wait(lambda: address in set_members(cluster), 60, "the new node in the set")
    progress(cluster, "with the new set")
    entered = set_changed_at(cluster, registered_at - 2)
    assert (entered - 1) % EPOCH_BLOCKS == 0, entered  # the first height of an epoch
    cluster.processes["node"] = _start(node_dir)
    cluster.api_port["node"] = joined["api_port"]
    cluster.wait_height(cluster.height("v0"), ["node"], timeout_s=60)

    def signs() -> bool:
        tip = cluster.height("v0")
        return any(signed_by(cluster, h, address) for h in range(max(entered, tip - 4), tip + 1))

    cluster.wait(signs, 60, "the new node's seal in a commit certificate")
    progress(cluster, "with the new node in the set")

    # Restarted with the harness from the next height on: it signs a second prepare.
    cluster.kill("node")
    tip = cluster.height("v0")
    config = node_dir / "config.toml"
    heights = ", ".join(str(h) for h in range(tip + 1, tip + 2_000))
    config.write_text(config.read_text() + f"\n[testing]\ndouble_prepare_heights = [{heights}]\n")
    cluster.processes["node"] = _start(node_dir)

    def jailed() -> bool:
        record = cluster.get("v0", f"/api/v1/registry/nodes/{address}")
        return record["status"] == "jailed"  # type: ignore[no-any-return]

    cluster.wait(jailed, 90, "the evidence on chain and the node jailed")
    jailed_at = cluster.height("v0")
    record = cluster.get("v0", f"/api/v1/registry/nodes/{address}")
    assert record["stake"] == JOINED_STAKE_COINS * COIN * (10_000 - SLASH_BPS) // 10_000
    progress(cluster, "after the slash")

    cluster.wait(lambda: address not in set_members(cluster), 60, "the jailed node out of the set")
    progress(cluster, "after it left the set")
    left = left_set_at(cluster, entered, address)
    assert (left - 1) % EPOCH_BLOCKS == 0 and left > jailed_at - EPOCH_BLOCKS, (left, jailed_at)


def _start(node_dir: Path) -> subprocess.Popen[bytes]:
    with (node_dir / "stderr.log").open("ab") as printed:
        return subprocess.Popen(
            [sys.executable, "-m", "metanode.cli.main", "start", "--home", str(node_dir)],
            stdout=printed,
            stderr=subprocess.STDOUT,
        )
