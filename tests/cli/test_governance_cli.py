"""`metanode gov` on a real 4-validator dev chain (real processes, sockets, LMDB): a proposal
shortens the epoch, the validators vote for it with their own keys, it passes, executes, and
the validator set then changes at the new cadence, while the chain keeps making blocks; with
the gateway reads behind the commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from metanode.cli import wallet
from metanode.node import home as dev_home
from metanode.types import Address, Bond, Transaction
from tests.node.cluster import Cluster, running

BIN = Path(sys.executable).parent
COIN = 10**9
OLD_EPOCH_BLOCKS = 1_000  # no boundary while the test runs, unless governance shortens it
NEW_EPOCH_BLOCKS = 3
VOTING_PERIOD_BLOCKS = 90


def command(cluster: Cluster, *argv: str) -> list[str]:
    return [str(BIN / "metanode"), *argv, "--home", str(cluster.home), "--json"]


def ok(cluster: Cluster, *argv: str) -> dict:
    done = subprocess.run(
        command(cluster, *argv), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return json.loads(done.stdout)


def run(cluster: Cluster, *argvs: tuple[str, ...]) -> list[subprocess.CompletedProcess[str]]:
    """Each command as a person runs it (without --json), all at once: they spawn a Python
    each, which on shared cores is most of their time."""
    started = [
        (argv, subprocess.Popen(command(cluster, *argv)[:-1], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True))
        for argv in argvs
    ]  # fmt: skip
    done = []
    for argv, process in started:
        out, err = process.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(argv, process.returncode, out, err))
    return done


def start(home: Path) -> Cluster:
    """A dev chain whose genesis has a long epoch and a short voting period."""
    cluster = Cluster(home, validators=4)
    path = home / "genesis.json"
    genesis = json.loads(path.read_text())
    genesis["parameters"]["staking"] = {"epoch_blocks": OLD_EPOCH_BLOCKS}
    genesis["governance"] = {
        "parameters": {"deposit_period_blocks": 100, "voting_period_blocks": VOTING_PERIOD_BLOCKS}
    }
    path.write_text(json.dumps(genesis, indent=2) + "\n")
    for name in cluster.names:
        cluster.configure(name, "empty_block_delay_ms", 300)
    cluster.start_all()
    return cluster


def signed(cluster: Cluster, sender: int, message: Bond) -> Transaction:
    key = cluster.dev_keys()[sender]
    unsigned = Transaction(dev_home.DEV_CHAIN_ID, key.public_key, 0, 1_000, 10_000, message)
    return unsigned.with_signature(key.sign(unsigned.signing_message()))


# 70–95 s on 2 shared cores: the voting period (about 30 s) must outlast the CLI calls in it
# under load.
@pytest.mark.slow
def test_a_proposal_shortens_the_epoch_and_sets_then_change_at_the_new_cadence(
    tmp_path: Path,
) -> None:
    cluster = start(tmp_path / "net")
    try:
        cluster.wait_height(1, timeout_s=60)
        gateway = cluster.url("v0")
        voters = [
            Address.from_public_key(wallet.node_keys(cluster.home, name).public_key)
            for name in cluster.names
        ]
        # The validators' own accounts pay their votes' fees.
        funding = [
            cluster.transfer(key, 0, voter, 10 * COIN)
            for key, voter in zip(cluster.dev_keys(), voters, strict=False)
        ]
        assert all(result["accepted"] for result in cluster.submit("v0", funding))
        for tx in funding:
            cluster.wait(lambda tx=tx: cluster.committed("v0", tx.hash().hex()), 30, "funding")

        proposed = ok(
            cluster, "gov", "propose", "--from", "dev5", "--title", "Shorter epochs",
            "--param", f"staking.epoch_blocks={NEW_EPOCH_BLOCKS}", "--deposit", "1000",
        )  # fmt: skip
        proposal_id = proposed["proposal"]
        assert proposed["tx"]["ok"] and proposed["deposit"] == "1000 GEN"
        shown = ok(cluster, "gov", "show", str(proposal_id))
        assert shown["status"] == "voting_period" and shown["result"] is None
        assert shown["content"] == {
            "kind": "parameter_change",
            "changes": [
                {"parameter": "staking.epoch_blocks", "number": 1, "value": NEW_EPOCH_BLOCKS}
            ],
        }
        assert shown["total_deposit"] == "1000 GEN" and not shown["tally_final"]
        voting_end = shown["voting_end_height"]
        assert voting_end == shown["voting_start_height"] + VOTING_PERIOD_BLOCKS

        # Three of the four validators vote yes at once, each with its node key.
        votes = run(
            cluster, *(("gov", "vote", str(proposal_id), "yes", "--from", name)
                       for name in cluster.names[:3])
        )  # fmt: skip
        for done in votes:
            assert done.returncode == 0 and "committed at height" in done.stdout, done.stderr
        live = ok(cluster, "gov", "show", str(proposal_id))
        assert cluster.height("v0") < voting_end, "the votes came after the voting period"
        assert live["tally_base_units"]["yes"] == 3 * 1_000 * COIN
        assert live["tally_base_units"]["bonded"] == 4 * 1_000 * COIN
        assert sorted(item["voter"] for item in live["votes"]) == sorted(map(str, voters[:3]))
        listed = ok(cluster, "gov", "list", "--status", "voting_period")["proposals"]
        assert [item["id"] for item in listed] == [proposal_id]

        # Tallied at the end of the voting period's last block, executed at the end of the next.
        cluster.wait_height(voting_end + 2, ["v0"], timeout_s=60)
        done = ok(cluster, "gov", "show", str(proposal_id))
        assert done["status"] == "executed" and done["result"] == "executed"
        assert done["tally_final"] and done["tally_height"] == voting_end
        assert done["votes"] == []
        assert ok(cluster, "gov", "list", "--status", "voting_period")["proposals"] == []
        before = cluster.get("v0", "/api/v1/validators")
        assert before["epoch_blocks"] == NEW_EPOCH_BLOCKS and before["set_since"] == 1

        # A bond now reaches the set at the next boundary of the new epochs (the old epoch
        # would have kept it out until height 1,001).
        bond = signed(cluster, 6, Bond(voters[0], 500 * COIN))
        assert cluster.submit("v0", [bond])[0]["accepted"]
        cluster.wait(lambda: cluster.committed("v0", bond.hash().hex()), 30, "the bond")
        bonded_at = cluster.get("v0", f"/api/v1/txs/{bond.hash().hex()}")["height"]
        epoch_end = bonded_at + (-(bonded_at + 1) % NEW_EPOCH_BLOCKS)
        changed = epoch_end + 2
        assert changed % NEW_EPOCH_BLOCKS == 1
        cluster.wait_height(changed, ["v0"], timeout_s=30)
        new = cluster.get("v0", f"/api/v1/validators?height={changed}")
        old = cluster.get("v0", f"/api/v1/validators?height={changed - 1}")
        assert new["set_since"] == changed and old["set_since"] == 1
        assert new["set_hash"] != old["set_hash"]
        assert new["total_power"] == old["total_power"] + 500
        assert [v["power"] for v in new["validators"] if v["address"] == str(voters[0])] == [1_500]

        # The gateway's typed refusals.
        unknown = cluster.client.get(gateway + "/api/v1/proposals/99")
        assert unknown.status_code == 404 and unknown.json()["type"].endswith("proposal-not-found")
        ahead = cluster.client.get(gateway + "/api/v1/validators?height=1000000")
        assert ahead.status_code == 404
        assert ahead.json()["type"].endswith("validator-set-not-fixed")
        assert cluster.client.get(gateway + "/api/v1/validators?height=0").status_code == 422

        # The chain never stopped.
        height = cluster.height("v0")
        cluster.wait_height(height + 3, timeout_s=30)
    finally:
        cluster.stop_all()


def test_gov_commands_their_refusals_and_the_gateway_reads(tmp_path: Path) -> None:
    with running(tmp_path / "net", validators=1) as cluster:
        cluster.wait_height(1, timeout_s=60)
        gateway = cluster.url("v0")
        validator = Address.from_public_key(wallet.node_keys(cluster.home, "v0").public_key)
        funding = cluster.transfer(cluster.dev_keys()[0], 0, validator, 10 * COIN)
        assert cluster.submit("v0", [funding])[0]["accepted"]

        # Usage errors: exit 2, one line, nothing sent.
        propose = ("gov", "propose", "--from", "dev1", "--title", "t", "--deposit")
        cases = [
            ((*propose, "250"), "give exactly one kind of proposal"),
            ((*propose, "250", "--param", "staking.epoch_blocks=2", "--upgrade", "v2=9"),
             "give exactly one kind of proposal"),
            ((*propose, "250", "--param", "staking.nonsense=2"), "--param 'staking.nonsense'"),
            ((*propose, "250", "--param", "staking.epoch_blocks"), "expected NAME=VALUE"),
            ((*propose, "250", "--spend", "mn1nothing=5"), "--spend 'mn1nothing'"),
            ((*propose, "2.5.0", "--upgrade", "v2=9"), "amount '2.5.0'"),
            (("gov", "vote", "1", "maybe", "--from", "dev1"), "one of yes, no, abstain, veto"),
            (("gov", "list", "--status", "won"), "--status 'won'"),
        ]  # fmt: skip
        for (_argv, said), done in zip(
            cases, run(cluster, *(argv for argv, _ in cases)), strict=True
        ):
            assert done.returncode == 2 and said in done.stderr, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1

        # A quarter of the minimum deposit opens a deposit period; a deposit starts the vote.
        upgrade = ok(cluster, "gov", "propose", "--from", "dev1", "--title", "Run v2",
                     "--upgrade", "v2=1000000", "--deposit", "250")  # fmt: skip
        first = upgrade["proposal"]
        assert ok(cluster, "gov", "show", str(first))["status"] == "deposit_period"
        listed = ok(cluster, "gov", "list", "--status", "deposit_period")["proposals"]
        assert [item["id"] for item in listed] == [first]
        added = ok(cluster, "gov", "deposit", str(first), "--from", "dev2", "--amount", "750")
        assert added["deposit"] == "750 GEN"
        shown = ok(cluster, "gov", "show", str(first))
        assert shown["status"] == "voting_period" and shown["total_deposit"] == "1000 GEN"
        assert shown["content"] == {"kind": "software_upgrade", "name": "v2", "height": 1_000_000}
        second = ok(cluster, "gov", "propose", "--from", "dev1", "--title", "Slower fees",
                    "--param", "auth.treasury_fee_bps=100", "--param", "staking.epoch_blocks=2",
                    "--deposit", "1000")["proposal"]  # fmt: skip
        changes = ok(cluster, "gov", "show", str(second))["content"]["changes"]
        assert [item["parameter"] for item in changes] == ["staking.epoch_blocks",
                                                           "auth.treasury_fee_bps"]  # fmt: skip

        # Failed outcomes: exit 1, FAILED with the reason, the fee charged.
        failing = run(
            cluster,
            ("gov", "propose", "--from", "dev3", "--title", "t", "--deposit", "1000",
             "--spend", f"{validator}=1000000"),
            ("gov", "propose", "--from", "dev4", "--title", "t", "--deposit", "1000",
             "--authority-add", str(validator)),
            ("gov", "vote", str(first), "yes", "--from", "dev1"),
        )  # fmt: skip
        reasons = ("spend above treasury balance", "node not found", "no bonded stake")
        for done, reason in zip(failing, reasons, strict=True):
            assert done.returncode == 1 and f"FAILED: {reason}" in done.stdout, done.stdout

        voted = ok(cluster, "gov", "vote", str(first), "veto", "--from", "v0")
        assert voted["vote"] == "veto" and voted["tx"]["ok"]
        shown = ok(cluster, "gov", "show", str(first))
        assert shown["votes"] == [{"voter": str(validator), "option": "veto"}]
        assert shown["tally"]["veto"] == "1000 GEN" and not shown["tally_final"]
        text, table = run(cluster, ("gov", "show", str(first)), ("gov", "list"))
        assert text.returncode == 0 and "software upgrade: v2 at height 1000000" in text.stdout
        assert table.returncode == 0 and "Slower fees" in table.stdout

        # The gateway reads: pages and their cursor, a status filter, typed refusals.
        page = cluster.get("v0", "/api/v1/proposals?limit=1")
        assert [item["id"] for item in page["proposals"]] == [first] and page["next"] == first
        rest = cluster.get("v0", f"/api/v1/proposals?after={first}")
        assert [item["id"] for item in rest["proposals"]] == [second] and rest["next"] is None
        assert cluster.get("v0", "/api/v1/proposals?status=executed")["proposals"] == []
        votes = cluster.get("v0", f"/api/v1/proposals/{first}/votes")
        assert votes["votes"] == [{"voter": str(validator), "option": "veto"}]
        for path, status, kind in (
            ("/api/v1/proposals/77", 404, "proposal-not-found"),
            ("/api/v1/proposals/77/votes", 404, "proposal-not-found"),
            ("/api/v1/proposals/0", 422, "invalid-request"),
            ("/api/v1/proposals?status=won", 422, "invalid-request"),
            (f"/api/v1/proposals/{first}/votes?after=mn1qqqq", 422, "invalid-request"),
            ("/api/v1/validators?height=99999999", 404, "validator-set-not-fixed"),
        ):
            answer = cluster.client.get(gateway + path)
            assert answer.status_code == status, (path, answer.text)
            assert answer.json()["type"].endswith(kind)
        latest = cluster.get("v0", "/api/v1/validators")  # the set of the next block
        assert latest["height"] >= 2 and latest["set_since"] == 1
        at_one = cluster.get("v0", "/api/v1/validators?height=1")
        assert at_one["set_since"] == 1 and at_one["epoch_blocks"] == 1
        assert at_one["validators"][0]["address"] == str(validator)
        assert at_one["set_hash"] == cluster.block("v0", 1)["validator_set_hash"]
