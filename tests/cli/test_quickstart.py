"""The README's quick start, run as a new user runs it: init, up, a key, the faucet, a send, a
query, a refused send, a send that fails when it runs, stop, and up again. Real processes, real
sockets, a real chain of four validators. Every line a person reads is checked for units (an
amount always carries its denomination, never bare base units) and every exit code for the one
rule (0 ok, 1 a failed outcome, 2 a usage error)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

from metanode.net.ports import free_port_block
from tests.cli.test_metanode_cli import METANODE, run, status, wait_common_height

DENOMS = ("GEN", "NEX", "FLX", "AUR")
# What may carry a bare number in a line a person reads: addresses, hashes, heights, nonces,
# ports and URLs, counts of things. Everything left that looks like a number is an amount and
# must be followed by its unit.
_NOT_AMOUNTS = re.compile(
    r"mn1[02-9ac-hj-np-z]+"  # an address
    r"|[0-9a-f]{16,}"  # a hash or a key
    r"|HTTP \d+|https?://\S+|\d+\.\d+\.\d+\.\d+:\d+"  # an endpoint
    r"|(?:height|nonce|at|of|within|v)\s*\d+"  # a position, not an amount
    r"|\(\w+\.\w+\)"  # a result code's name
    r"|--[\w-]+[ =]\S+"  # an option with the value the person typed, quoted back
)
_AMOUNT_WORDS = re.compile(r"\b(fee|sent|holds|spend|balance|amount|moves|charged)\b", re.I)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")


def assert_units(text: str) -> None:
    """Every line that speaks of an amount gives each amount as coins with their unit."""
    for line in text.splitlines():
        if not _AMOUNT_WORDS.search(line):
            continue
        rest = _NOT_AMOUNTS.sub(" ", line)
        for number in _NUMBER.finditer(rest):
            after = rest[number.end() :].lstrip()
            assert after.startswith(DENOMS), f"an amount without its unit: {line!r}"
            # 9 decimals at most, and no base-unit figure dressed as coins
            assert len(number.group(1).split(".")[0]) <= 12, f"base units shown? {line!r}"


def balance_lines(home: str, address: str) -> list[str]:
    shown = run("query", "balance", address, "--home", home)
    assert shown.returncode == 0, shown.stderr
    assert_units(shown.stdout)
    return shown.stdout.splitlines()


def test_the_quick_start_as_a_new_user_runs_it(tmp_path: Path) -> None:
    home = str(tmp_path / "home")
    base = free_port_block(8)
    ports = ["--port-base", str(base), "--api-port-base", str(base + 4)]

    made = run("init", "--dev", "--home", home, *ports, timeout=300)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"initialised 4 validators of dev chain metanode-dev in {home}"
    again = run("init", "--dev", "--home", home, *ports)
    assert again.returncode == 2 and "Traceback" not in again.stderr  # never overwrites

    up = subprocess.Popen(
        [METANODE, "up", "--home", home, *ports],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_common_height(Path(home), 2, 120)

        added = run("keys", "add", "alice", "--home", home, timeout=120)
        assert added.returncode == 0, added.stderr
        alice = added.stdout.split()[1]
        assert alice.startswith("mn1")
        dev0 = json.loads(run("keys", "show", "dev0", "--home", home, "--json").stdout)["address"]

        gift = run("faucet", alice, "--amount", "100", "--home", home)
        assert gift.returncode == 0, gift.stderr
        assert gift.stdout.startswith(f"the faucet sent 100 FLX to {alice} in transaction ")
        assert_units(gift.stdout)
        too_much = run("faucet", alice, "--amount", "100000000", "--home", home)
        assert too_much.returncode == 2 and "Traceback" not in too_much.stderr
        assert_units(too_much.stderr)

        sent = run(
            "tx", "send", "--to", alice, "--amount", "2.5", "--from", "dev0", "--wait",
            "--home", home,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr
        first = sent.stdout.splitlines()[0]
        assert re.fullmatch(r"committed at height \d+, fee charged 0\.000001 FLX", first), first
        assert_units(sent.stdout)

        # The faucet's transfer and dev0's both committed: alice holds 102.5 FLX.
        gift_hash = gift.stdout.split()[-1]
        shown = run("query", "tx", gift_hash, "--home", home)
        assert shown.returncode == 0 and shown.stdout.startswith("committed at height ")
        assert "FLX      102.5 FLX" in balance_lines(home, alice)

        # More than alice holds: refused before it reaches a block, saying why, in coins.
        short = run(
            "tx", "send", "--to", dev0, "--amount", "1000", "--from", "alice", "--home", home
        )
        assert short.returncode == 1, short.stdout
        assert "insufficient_funds" in short.stderr and "102.5 FLX" in short.stderr
        assert "Traceback" not in short.stderr
        assert_units(short.stderr)

        # A transfer that passes admission and fails when it runs reads FAILED, first.
        failed = run(
            "tx", "send", "--to", dev0, "--amount", "0", "--from", "alice", "--wait",
            "--home", home,
        )  # fmt: skip
        assert failed.returncode == 1, failed.stderr
        first = failed.stdout.splitlines()[0]
        assert first.startswith("FAILED: amount must not be zero"), first
        assert "fee charged 0.000001 FLX" in first
        assert_units(failed.stdout)
        assert "FLX      102.499999 FLX" in balance_lines(home, alice)  # only the fee went

        # Usage errors: nothing is sent, exit 2, one line that says what to fix.
        for args in (
            ["tx", "send", "--to", dev0, "--amount", "ten", "--from", "alice"],
            [
                "tx",
                "send",
                "--to",
                alice[:-1] + ("q" if alice[-1] != "q" else "p"),
                "--amount",
                "1",
            ],
            ["query", "balance", alice, "--node", "ftp://nowhere"],
        ):
            refused = run(*args, "--home", home)
            assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
            assert "Traceback" not in refused.stderr and refused.stderr.strip(), args

        reached = max(node["height"] for node in status(Path(home))["nodes"])
    finally:
        up.send_signal(signal.SIGINT)
        printed, _ = up.communicate(timeout=60)
    assert up.returncode == 0, printed
    assert "dev0" in printed and "/api/v1" in printed
    assert "stopped; `metanode up` again resumes this chain" in printed
    assert "Traceback" not in printed
    assert all(node["height"] is None for node in status(Path(home))["nodes"])

    again_up = subprocess.Popen(
        [METANODE, "up", "--home", home, *ports],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_common_height(Path(home), reached + 2, 120)  # the same chain, going on
        assert "FLX      102.499999 FLX" in balance_lines(home, alice)
    finally:
        again_up.send_signal(signal.SIGINT)
        again_up.wait(60)
    assert again_up.returncode == 0
