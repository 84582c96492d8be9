"""`bpi dispute open | show` and the gateway's `/api/v1/disputes…` against one real 1-validator
dev chain (real processes, sockets, LMDB): the node executes and notarises a call of the
counter, a challenger disputes its receipt by hash with a root of its own, and the dispute is
read back: the executor's node defends itself and wins the ruling."""

from __future__ import annotations

from pathlib import Path

from metanode.crypto.hashing import blake3_hash
from tests.cli.test_apps_cli import COUNTER, bpi, run
from tests.node.cluster import running


def test_open_and_show_a_dispute_on_a_real_chain(tmp_path: Path) -> None:
    with running(tmp_path / "net", validators=1) as chain:
        chain.wait_height(1)
        module = tmp_path / "counter.wat"
        module.write_text(COUNTER.read_text())
        (tmp_path / "app.toml").write_text("[app]\nreplicas = 1\nfuel_limit = 100000\n")
        app_id = bpi(chain, "deploy", str(module))["app"]
        called = bpi(chain, "call", app_id, "increment", "--wait", "--wait-s", "60")
        receipt = called["receipt"]
        claim = blake3_hash(b"a root the honest executor never left").hex()

        opened = bpi(chain, "dispute", "open", receipt, "--claim", claim, "--bond", "10")
        assert opened["tx"]["ok"] and opened["dispute"] == 0
        assert (opened["receipt"], opened["bond"]) == (receipt, "10 FLX")
        # The honest executor's node asks for the ruling itself (node/court.py): the replay
        # agrees with its receipt, and the frivolous challenger's bond is forfeited.
        chain.wait(
            lambda: bpi(chain, "dispute", "show", "0")["status"] == "defender_won",
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
