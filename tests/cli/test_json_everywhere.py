"""`--json` on every command that prints data: a walk of the Typer apps of `metanode`, `bpi`,
`bpci` and `bpci-core` lists each command without the option, and each must be one that prints
no data (it runs until stopped, and logs). The commands that gained `--json` print one JSON
document with what their text says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from metanode.cli import bpci, bpi
from metanode.cli import main as metanode

APPS = {"metanode": metanode.app, "bpi": bpi.app, "bpci": bpci.app, "bpci-core": bpci.core_app}

# Commands that print no data, and why; anything else without --json fails the walk.
NO_DATA = {
    "metanode start": "runs a node until stopped; what it does goes to its structured log",
    "metanode up": "runs every validator until Ctrl-C; their logs",
    "metanode dev up": "runs a dev chain until Ctrl-C; its logs",
    "bpi dev": "watches a directory until Ctrl-C, logging each rebuild",
    "bpci server stop": "signals the supervisor; one line saying it stopped",
    "bpci server reload": "signals the supervisor; what it applied goes to server.log",
}


def _commands(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, f"{path} {name}")
    else:
        yield path, command


def _without_json() -> set[str]:
    return {
        path
        for name, app in APPS.items()
        for path, command in _commands(get_command(app), name)
        if not any("--json" in getattr(param, "opts", ()) for param in command.params)
    }


def test_every_command_that_prints_data_takes_json() -> None:
    assert _without_json() == set(NO_DATA)


def _json(app: typer.Typer, *argv: str, env: dict[str, str] | None = None) -> Any:
    result = CliRunner().invoke(app, [*argv, "--json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_commands_that_gained_json_print_one_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "net"
    made = _json(metanode.app, "init", "--dev", "--validators", "1", "--home", str(home))
    assert (made["kind"], made["validators"], made["home"]) == ("dev", 1, str(home))
    key = _json(metanode.app, "keys", "add", "extra", "--home", str(home))
    assert key["name"] == "extra" and key["address"].startswith("mn1")

    created = _json(bpi.app, "init", "app")
    assert created == {"module": "app/app.wat", "manifest": "app/app.toml"}
    ran = _json(bpi.app, "exec", "app/app.wat", "hello", "hi", "--receipt", "ok.cbor")
    assert ran["outcome"] == "ok" and ran["receipt"] == "ok.cbor"
    assert bytes.fromhex(ran["output"]) and len(ran["receipt_hash"]) == 64
    replayed = _json(bpi.app, "replay", "ok.cbor")
    assert (replayed["result"], replayed["step"]) == ("match", None)
