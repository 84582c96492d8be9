"""`bpi dispute open | challenge | show` and the gateway's `/api/v1/disputes…` against one
real 1-validator dev chain (real processes, sockets, LMDB): the node executes and notarises
calls of the counter; a challenger disputes one receipt by hash with a root of its own, and
another with its own signed receipt of the call (message 39); the disputes are read back: the
executor's node defends itself and wins the ruling."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from metanode.codec import decode
from metanode.crypto.hashing import blake3_hash
from metanode.docklock.cage import wat_to_wasm
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Receipt
from metanode.node import home as dev_home
from metanode.node import keys
from tests.cli.test_apps_cli import COUNTER, bpi, run
from tests.node.cluster import Cluster, running


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, str]]:
    """A running chain with the counter deployed (one replica, the validator's node)."""
    tmp_path = tmp_path_factory.mktemp("dispute-cli")
    with running(tmp_path / "net", validators=1) as chain:
        chain.wait_height(1)
        module = tmp_path / "counter.wat"
        module.write_text(COUNTER.read_text())
        (tmp_path / "app.toml").write_text("[app]\nreplicas = 1\nfuel_limit = 100000\n")
        yield chain, bpi(chain, "deploy", str(module))["app"]


def test_open_and_show_a_dispute_on_a_real_chain(deployed: tuple[Cluster, str]) -> None:
    chain, app_id = deployed
    called = bpi(chain, "call", app_id, "increment", "--wait", "--wait-s", "60")
    receipt = called["receipt"]
    claim = blake3_hash(b"a root the honest executor never left").hex()

    opened = bpi(chain, "dispute", "open", receipt, "--claim", claim, "--bond", "10")
    assert opened["tx"]["ok"] and opened["dispute"] == 0
    assert (opened["receipt"], opened["bond"]) == (receipt, "10 FLX")
    # The honest executor's node asks for the ruling itself (node/court.py): the replay
    # agrees with its receipt, and the frivolous challenger's bond is forfeited.
    chain.wait(
        lambda: chain.get("v0", "/api/v1/disputes/0")["status"] == "defender_won",
        60,
        "the node to win its dispute",
    )
    shown = bpi(chain, "dispute", "show", "0")
    (validator,) = chain.get("v0", "/api/v1/validators")["validators"]
    assert (shown["kind"], shown["app_id"], shown["defender"]) == (
        "challenge",
        app_id,
        validator["address"],
    )
    assert shown["posts"][1] == claim and (shown["lo"], shown["hi"]) == (0, 0)
    assert shown["receipts"] == [receipt, None] and shown["deadline"] is None
    assert shown["ruling"]["step"] == 3 and shown["ruling"]["root"] == shown["posts"][0]
    assert shown["clawback"] is None  # the receipt stood: nothing was taken back
    listed = chain.get("v0", "/api/v1/disputes")
    assert [item["id"] for item in listed["disputes"]] == [0] and listed["next"] is None
    # Counted for its app by the court's per-app index, apart from the notaries' withheld ranges.
    view = chain.get("v0", f"/api/v1/apps/{app_id}")
    assert (view["disputes"], view["court_disputes_open"], view["court_disputes_settled"]) == (
        0,
        0,
        1,
    )
    assert bpi(chain, "monitor", app_id)["disputes"] == {
        "ranges_withheld": 0,
        "court_open": 0,
        "court_settled": 1,
    }
    # The dashboard's search finds a dispute by its word and id; a bare number is a height.
    found = chain.get("v0", "/api/v1/search?q=Dispute%200")
    assert (found["kind"], found["id"]) == ("dispute", "0")
    assert chain.get("v0", "/api/v1/search?q=dispute:7")["kind"] is None
    # "²" is a digit to str.isdigit but not a number to int: found nothing, not a 500.
    assert chain.get("v0", "/api/v1/search?q=%C2%B2")["kind"] is None

    again = run("bpi", "dispute", "open", receipt, "--claim", claim, "--home", str(chain.home))
    assert again.returncode == 1 and "court.receipt_already_disputed" in again.stdout
    bad = run("bpi", "dispute", "open", receipt, "--claim", "zz", "--home", str(chain.home))
    assert bad.returncode == 2 and "--claim must be hex" in bad.stderr
    missing = run("bpi", "dispute", "show", "7", "--home", str(chain.home), "--json")
    assert missing.returncode == 1 and "no dispute has id 7" in missing.stderr
    assert chain.client.get(chain.url("v0") + "/api/v1/disputes/-1").status_code == 422
    text = run("bpi", "dispute", "show", "0", "--home", str(chain.home))
    assert text.returncode == 0 and "defender_won" in text.stdout and "at step 3" in text.stdout


def test_challenge_a_receipt_with_ones_own(deployed: tuple[Cluster, str], tmp_path: Path) -> None:
    chain, app_id = deployed
    called = bpi(chain, "call", app_id, "increment", "--wait", "--wait-s", "60")
    receipt_hash = called["receipt"]
    seq = chain.get("v0", f"/api/v1/receipts/{receipt_hash}")["leaf"]["call_seq"]
    page = chain.get("v0", f"/api/v1/apps/{app_id}/receipts?from={seq}&limit=1")
    theirs = Receipt.from_wire(decode(bytes.fromhex(page["receipts"][0]["receipt"])))
    # dev1 ran the same call (its block time and seed, the state before it) and signs a
    # receipt with another output: a frivolous challenge, which the executor's node defeats.
    key = keys.read_account(chain.home / "keys" / "dev1.key", dev_home.DEV_PASSWORD)
    before = {b"count": seq.to_bytes(8, "little")}
    module = wat_to_wasm(COUNTER.read_text())
    bundle, _after = execute(
        module, "increment", b"", before, key, block_time=theirs.block_time, seed=theirs.seed
    )
    false = replace(bundle.receipt, output_hash=blake3_hash(b"an output never made"))
    own = tmp_path / "own.receipt"
    own.write_bytes(replace(false, signature=key.sign(false.signing_message())).encode())

    home = ("--home", str(chain.home))
    challenge = ("dispute", "challenge", receipt_hash, "--receipt")
    opened = bpi(chain, *challenge, str(own), "--from", "dev1")
    assert opened["tx"]["ok"] and (opened["receipt"], opened["bond"]) == (receipt_hash, "10 FLX")
    dispute = opened["dispute"]
    chain.wait(
        lambda: chain.get("v0", f"/api/v1/disputes/{dispute}")["status"] == "defender_won",
        60,
        "the node to win the challenge",
    )
    shown = bpi(chain, "dispute", "show", str(dispute))
    assert (shown["kind"], shown["call_seq"]) == ("challenge", seq)
    # Refused by the chain (exit 1, its code named), or before it (exit 2).
    again = run("bpi", *challenge, str(own), "--from", "dev1", *home)
    assert again.returncode == 1 and "court.receipt_already_disputed" in again.stdout
    not_mine = run("bpi", *challenge, str(own), *home)
    assert not_mine.returncode == 1 and "court.challenge_not_senders" in not_mine.stdout
    missing = run("bpi", *challenge, str(tmp_path / "x"), *home)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not a receipt")
    bad = run("bpi", *challenge, str(garbage), *home)
    assert bad.returncode == 2 and "neither a receipt bundle nor a receipt" in bad.stderr
