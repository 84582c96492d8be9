"""Native mode on real bubblewrap: recorded, sandboxed, checked by running twice. Where the
machine cannot make the sandbox, each test skips with the reason native mode gives."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from metanode.docklock import native

BPI = str(Path(sys.executable).parent / "bpi")


@pytest.fixture(scope="module", autouse=True)
def sandbox() -> None:
    try:
        native.check_available()
    except native.NativeUnavailable as reason:
        pytest.skip(str(reason))


def test_stdin_and_stdout_are_recorded_and_a_pure_program_is_deterministic() -> None:
    run = native.run("cat", (), b"metanode\n")
    assert run.exit_code == 0 and run.stdout == b"metanode\n" and run.deterministic
    assert run.input_hash != native.run("cat", (), b"other").input_hash


def test_the_environment_is_fixed() -> None:
    run = native.run("env")
    lines = set(run.stdout.decode().splitlines())
    assert lines == {f"{k}={v}" for k, v in native.FIXED_ENV.items()} | {"PWD=/tmp"}


def test_entropy_is_out_of_reach() -> None:
    run = native.run("python3", ("-c", "import os; print(os.urandom(8).hex())"))
    assert run.exit_code != 0  # getrandom fails (seccomp) and /dev/urandom does not exist
    assert b"urandom" in run.stderr
    run = native.run("sh", ("-c", "head -c 8 /dev/random"))
    assert run.exit_code != 0 and run.stdout == b""


def test_a_clock_read_through_the_vdso_is_caught_by_the_double_run() -> None:
    run = native.run("date", ("+%s%N",))
    assert run.exit_code == 0 and not run.deterministic


def test_the_root_is_read_only_and_the_network_unreachable() -> None:
    run = native.run("sh", ("-c", "echo x > /etc/metanode-probe"))
    assert run.exit_code != 0 and b"Read-only file system" in run.stderr
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        run = native.run("python3", ("-c", code))
    assert run.exit_code != 0 and b"ConnectionRefusedError" in run.stderr


def test_the_seccomp_program_ends_in_allow_and_errno() -> None:
    program = native.seccomp_program()
    assert len(program) % 8 == 0
    assert len(program) // 8 == 6 + len(native.DENIED) + 2


def test_bpi_native_prints_the_verdict_first_and_json_alone() -> None:
    def bpi_native(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BPI, "native", *args], capture_output=True, text=True, check=False)

    result = bpi_native("echo", "hello")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "deterministic"
    result = bpi_native("--json", "echo", "hello")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert summary["deterministic"] is True and summary["stdout"] == "hello\n"
