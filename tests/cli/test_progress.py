"""Progress bars of long commands (`metanode.cli.output.progress`): drawn on stderr when forced
onto a terminal, never with `--json`, never off a terminal; and the commands as a person runs
them in a real pseudo-terminal: `metanode sim` draws its bar there, and with `--json` the
terminal gets the JSON document alone."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from io import StringIO
from pathlib import Path

from rich.console import Console

from metanode.cli import output

METANODE = Path(sys.executable).parent / "metanode"
SIM = ("sim", "--scenarios", "3", "--seed", "2", "--validators", "4")


def _drawn(console: Console, *, json_output: bool = False) -> str:
    with output.progress("scenarios", 3, json_output=json_output, console=console) as advance:
        for _ in range(3):
            advance()
    file = console.file
    assert isinstance(file, StringIO)
    return file.getvalue()


def test_a_forced_terminal_gets_the_bar_and_json_or_a_file_gets_nothing() -> None:
    drawn = _drawn(Console(file=StringIO(), force_terminal=True, width=100))
    assert "scenarios" in drawn and "3/3" in drawn and "\x1b[" in drawn
    assert _drawn(Console(file=StringIO(), force_terminal=True), json_output=True) == ""
    assert _drawn(Console(file=StringIO())) == ""


def test_a_late_total_and_an_unknown_length_are_drawn() -> None:
    console = Console(file=StringIO(), force_terminal=True, width=100)
    with output.progress("blocks", 0, console=console) as advance:
        advance(1, 7)
    with output.progress("waiting for the commit", console=console):
        pass
    drawn = console.file.getvalue()  # type: ignore[attr-defined]
    assert "1/7" in drawn and "waiting for the commit" in drawn


def _in_a_terminal(*argv: str) -> tuple[int, str]:
    """Run a command with stdout and stderr on a pseudo-terminal, as in a person's shell."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    process = subprocess.Popen(
        [str(METANODE), *argv], stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes with the process (EIO)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(60), b"".join(chunks).decode()


def test_sim_draws_its_bar_on_a_terminal_and_json_stays_alone() -> None:
    code, shown = _in_a_terminal(*SIM)
    assert code == 0, shown
    assert "━" in shown and "scenarios=3 safety_violations=0" in shown
    code, shown = _in_a_terminal(*SIM, "--json")
    assert code == 0, shown
    # Alone on the terminal: no bar, no control sequence, one JSON document.
    assert "\x1b[" not in shown and "━" not in shown
    figures = json.loads(shown)
    assert figures["scenarios"] == 3 and figures["safety_violations"] == 0
    assert figures["failed"] == []


def test_sim_json_piped_is_the_text_line_figures() -> None:
    piped = subprocess.run(
        [str(METANODE), *SIM, "--json"], capture_output=True, text=True, timeout=120, check=True
    )
    text = subprocess.run(
        [str(METANODE), *SIM], capture_output=True, text=True, timeout=120, check=True
    )
    assert piped.stderr == "" and text.stderr == ""
    figures = json.loads(piped.stdout)
    line = dict(item.split("=") for item in text.stdout.split())
    assert {key: int(line[key]) for key in line if key != "seconds"} == {
        key: value for key, value in figures.items() if key not in ("seconds", "failed")
    }
