"""Every command that can run without a chain, as a person runs it (real processes): exit 0
when it did what was asked, 1 when its outcome is a failure, 2 when what it was given cannot be
used; a deliberate error is one line on stderr, never a traceback. The commands that need a
running chain are checked the same way in test_metanode_cli.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from metanode.net.ports import free_port_block
from metanode.types import Address

BIN = Path(sys.executable).parent
ADDRESS = str(Address(bytes(20)))
TYPO = ADDRESS[:-1] + ("q" if ADDRESS[-1] != "q" else "p")
SPIN = '(module (memory (export "memory") 1) (func (export "spin") (loop $l (br $l))))'


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("exit-codes")
    (root / "binary").mkdir()
    (root / "binary" / "config.toml").write_bytes(bytes(range(256)))
    (root / "not-toml").mkdir()
    (root / "not-toml" / "config.toml").write_text('name = "x\n[p2p')
    (root / "empty").mkdir()
    (root / "spin.wat").write_text(SPIN)
    for command in ("bpi init app", "bpi exec app/app.wat hello hi --state s-ok --receipt ok.cbor"):
        done = run(root, *command.split())
        assert done.returncode == 0, done.stderr
    return root


def run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BPI_KEY_PASSWORD": "exit-codes", "COLUMNS": "200"}
    command = [str(BIN / argv[0]), *argv[1:]]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=root, env=env, timeout=300, check=False
    )


CLOSED = "127.0.0.1:CLOSED_PORT"  # a free port, chosen when the test runs (ids stay fixed)
CASES = [
    # 0: did what was asked
    (0, "metanode --help"),
    (0, "bpi --help"),
    (0, "metanode sim --scenarios 1 --validators 4"),
    (0, "bpi exec app/app.wat hello world --state s-again --receipt again.cbor"),
    (0, "bpi replay ok.cbor"),
    (0, "bpi inspect ok.cbor --json"),
    # 1: ran, and the outcome is a failure
    (1, "bpi exec spin.wat spin --state s-fuel --receipt fuel.cbor"),  # out_of_fuel
    (1, "bpi exec app/app.wat nope --state s-missing --receipt missing.cbor"),
    (1, f"metanode query block latest --node {CLOSED}"),
    # 2: a usage error, and nothing done
    (2, "metanode --no-such-option"),
    (2, "metanode init"),  # --dev is required
    (2, "metanode start --home binary"),
    (2, "metanode start --home not-toml"),
    (2, "metanode status --home empty"),
    (2, "metanode store check --home empty"),
    (2, "metanode sim --validators 9..3"),
    (2, "metanode bench --rate fast"),
    (2, "metanode keys add no/such --home empty"),
    (2, f"metanode tx send --to {TYPO} --amount 1 --home empty"),
    (2, f"metanode query balance {TYPO} --home empty"),
    (2, "metanode query block tip --home empty"),
    (2, "metanode query block latest --node ftp://127.0.0.1:1"),
    (2, f"metanode faucet {ADDRESS} --amount 100001 --node {CLOSED}"),
    (2, f"metanode faucet {ADDRESS} --amount 0.0000000001 --node {CLOSED}"),
    (2, "metanode zk offer --dir empty --out offer.json"),  # no set-up there
    (
        2,
        "metanode credential present no-such.sd-jwt --from x --show country --audience a "
        "--nonce n --out shown.txt --home empty",
    ),
    (2, "bpi exec no-such.wat f"),
    (2, "bpi exec app/app.wat hello --seed zz"),
    (2, "bpi replay no-such.cbor"),
    (2, "bpi init app"),  # exists
    (2, "bpi native --stdin no-such echo"),
]


@pytest.mark.parametrize(("code", "command"), CASES, ids=[command for _, command in CASES])
def test_every_command_exits_by_the_one_rule(work: Path, code: int, command: str) -> None:
    command = command.replace("CLOSED_PORT", str(free_port_block(1)))
    done = run(work, *command.split())
    assert done.returncode == code, (done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr
    if code == 2 and not command.endswith("--no-such-option") and command != "metanode init":
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # one line a person reads


def test_a_binary_or_invalid_config_names_the_file_and_why(work: Path) -> None:
    binary = run(work, "metanode", "start", "--home", "binary")
    assert "binary/config.toml: not a UTF-8 TOML file" in binary.stderr
    invalid = run(work, "metanode", "start", "--home", "not-toml")
    assert "not-toml/config.toml: not valid TOML" in invalid.stderr


def test_json_is_alone_on_stdout(work: Path) -> None:
    inspected = run(work, "bpi", "inspect", "ok.cbor", "--json")
    assert json.loads(inspected.stdout)["outcome"] == "ok"
    faucet = run(work, "metanode", "faucet", ADDRESS, "--amount", "100001", "--node", "127.0.0.1:1")
    assert faucet.stdout == ""
    assert faucet.stderr.strip().endswith("to 100000 FLX at a time")  # whole coins, not base units
