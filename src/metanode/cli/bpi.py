"""`bpi`: build, run and check DockLock apps.

    bpi init NAME                      a new app from a WAT template (NAME/app.wat)
    bpi exec MODULE FUNCTION [ARGS…] --state DIR --receipt FILE
    bpi replay RECEIPT                 first line: `match` or `diverged at step N`
    bpi inspect RECEIPT [--json]
    bpi native [--stdin FILE] [--json] EXECUTABLE [ARGS…]
                                       run a Linux program twice under bubblewrap + seccomp;
                                       first line: `deterministic` or `nondeterministic`
                                       (options after EXECUTABLE are the program's own)

Exit codes, as for `metanode` (`output.py`): 0 ok; 1 a failed outcome (an `exec` whose outcome
is not `ok`, a replay that diverged, a nondeterministic native run); 2 a usage error.

The app state lives in DIR (state.cbor, and last-receipt for the chain of receipts); the
executor's Ed25519 key is DIR/executor.key, encrypted with the password in BPI_KEY_PASSWORD.
ARGS become the call's input, joined by single spaces. Block time and seed default to 0 and
32 zero bytes: a call's context comes from the caller, never from this machine's clock.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import cbor2
import typer
import wasmtime
from rich.console import Console
from rich.table import Table

from metanode.codec import decode, encode
from metanode.crypto import ed25519, keystore
from metanode.docklock import cage
from metanode.docklock import native as native_mode
from metanode.docklock.executor import ZERO, execute
from metanode.docklock.receipt import Bundle
from metanode.docklock.replay import replay as replay_bundle
from metanode.errors import ConfigError, DecodeError

from . import output

app = typer.Typer(
    name="bpi",
    help="Build, run and check DockLock apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TEMPLATE = """;; {name}: a DockLock app. Build nothing: bpi runs WAT directly.
;; `hello` writes its input back, prefixed with "hello ", and counts its calls in state.
(module
  (import "env" "input_len" (func $input_len (result i32)))
  (import "env" "input_read" (func $input_read (param i32)))
  (import "env" "output_write" (func $output_write (param i32 i32)))
  (import "env" "state_get" (func $state_get (param i32 i32 i32 i32) (result i32)))
  (import "env" "state_set" (func $state_set (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "calls")
  (data (i32.const 16) "hello ")
  (func (export "hello")
    (local $n i32)
    (if (i32.lt_s (call $state_get (i32.const 0) (i32.const 5) (i32.const 8) (i32.const 8))
                  (i32.const 0))
      (then (i64.store (i32.const 8) (i64.const 0))))
    (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.const 1)))
    (call $state_set (i32.const 0) (i32.const 5) (i32.const 8) (i32.const 8))
    (local.set $n (call $input_len))
    (call $input_read (i32.const 22))
    (call $output_write (i32.const 16) (i32.add (local.get $n) (i32.const 6)))))
"""
DEV_PASSWORD = "bpi-dev-password"  # a development default, announced when used


def module_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read module {path}: {error.strerror}") from None
    if path.suffix == ".wat":
        try:
            return cage.wat_to_wasm(data.decode("utf-8"))
        except (UnicodeDecodeError, wasmtime.WasmtimeError) as error:
            raise ConfigError(f"{path} is not valid WAT: {str(error).splitlines()[0]}") from None
    return data


def password() -> str:
    value = os.environ.get("BPI_KEY_PASSWORD")
    if value:
        return value
    typer.echo("bpi: BPI_KEY_PASSWORD is not set; using the development password", err=True)
    return DEV_PASSWORD


def executor_key(state_dir: Path) -> ed25519.PrivateKey:
    path = state_dir / "executor.key"
    if path.exists():
        _, seed = keystore.read_keyfile(path, password())
        return ed25519.PrivateKey.from_seed(seed)
    key = ed25519.PrivateKey.generate()
    keystore.write_keyfile(path, key.seed, password(), kind="ed25519-executor")
    return key


def load_state(state_dir: Path) -> tuple[dict[bytes, bytes], bytes]:
    state_file, link_file = state_dir / "state.cbor", state_dir / "last-receipt"
    state: dict[bytes, bytes] = {}
    if state_file.exists():
        value = decode(state_file.read_bytes())
        if not isinstance(value, cbor2.frozendict):
            raise DecodeError("wrong_type", f"{state_file} does not hold an app state map")
        state = dict(value)
    previous = link_file.read_bytes() if link_file.exists() else ZERO
    return state, previous


def write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)


@app.command()
def init(name: Annotated[str, typer.Argument(help="Directory for the new app.")]) -> None:
    """Create NAME/app.wat from the template."""
    target = Path(name)
    if (target / "app.wat").exists():
        raise ConfigError(f"{target / 'app.wat'} exists; refusing to overwrite it")
    target.mkdir(parents=True, exist_ok=True)
    (target / "app.wat").write_text(TEMPLATE.format(name=target.name))
    typer.echo(
        f"created {target / 'app.wat'}; run: bpi exec {target / 'app.wat'} hello world "
        f"--state {target / 'state'} --receipt {target / 'receipt.cbor'}"
    )


@app.command("exec")
def exec_(
    module: Annotated[Path, typer.Argument(help="The app: .wat or .wasm.")],
    function: Annotated[str, typer.Argument(help="The exported function to call.")],
    args: Annotated[list[str] | None, typer.Argument(help="The call's input.")] = None,
    state: Annotated[Path, typer.Option(help="App state directory.")] = Path("state"),
    receipt: Annotated[Path, typer.Option(help="Where to write the receipt bundle.")] = Path(
        "receipt.cbor"
    ),
    block_time: Annotated[int, typer.Option(min=0, help="The call's block time.")] = 0,
    seed: Annotated[str, typer.Option(help="32-byte hex seed of random_u64.")] = "00" * 32,
) -> None:
    """Run FUNCTION of MODULE in the cage and write a signed receipt."""
    try:
        seed_bytes = bytes.fromhex(seed)
    except ValueError:
        raise ConfigError("--seed must be hex") from None
    if len(seed_bytes) != 32:
        raise ConfigError("--seed must be 32 bytes of hex")
    code = module_bytes(module)
    state.mkdir(parents=True, exist_ok=True)
    current, previous = load_state(state)
    key = executor_key(state)
    input_ = " ".join(args or []).encode()
    bundle, after = execute(
        code, function, input_, current, key, block_time=block_time, seed=seed_bytes,
        previous=previous,
    )  # fmt: skip
    write_atomically(receipt, bundle.encode())
    write_atomically(state / "state.cbor", encode(after))
    write_atomically(state / "last-receipt", bundle.receipt.hash())
    typer.echo(f"outcome: {bundle.receipt.outcome}")
    typer.echo(f"output: {bundle.output!r}")
    typer.echo(f"receipt: {receipt} ({bundle.receipt.hash().hex()})")
    if bundle.receipt.outcome != "ok":  # the receipt records the failure; the run still failed
        raise typer.Exit(output.FAILED)


def read_bundle(path: Path) -> Bundle:
    try:
        return Bundle.decode(path.read_bytes())
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None


@app.command()
def replay(receipt: Annotated[Path, typer.Argument(help="A receipt bundle.")]) -> None:
    """Re-run the receipt's call; print `match` or `diverged at step N` and why."""
    verdict = replay_bundle(read_bundle(receipt))
    for line in verdict.lines():
        typer.echo(line)
    if not verdict.matches:
        raise typer.Exit(output.FAILED)


@app.command()
def inspect(
    receipt: Annotated[Path, typer.Argument(help="A receipt bundle.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show a receipt."""
    bundle = read_bundle(receipt)
    fields = {
        name: (value.hex() if isinstance(value, bytes) else value)
        for name, value in zip(
            ("version", *[n for n in bundle.receipt.__slots__ if n != "signature"]),  # type: ignore[attr-defined]
            bundle.receipt.body(),
            strict=True,
        )
    }
    fields["signature"] = bundle.receipt.signature.hex()
    fields["hash"] = bundle.receipt.hash().hex()
    if as_json:
        output.print_json(fields)
        return
    table = Table(title=f"receipt {receipt}")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for name, value in fields.items():
        table.add_row(name, str(value))
    Console().print(table)


@app.command(context_settings={"allow_interspersed_args": False})
def native(
    executable: Annotated[str, typer.Argument(help="The program (a path, or a name on PATH).")],
    args: Annotated[list[str] | None, typer.Argument(help="Its arguments.")] = None,
    stdin: Annotated[Path | None, typer.Option(help="A file given to it as stdin.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Run an ordinary executable twice in the native sandbox and compare the runs."""
    data = b""
    if stdin is not None:
        try:
            data = stdin.read_bytes()
        except OSError as error:
            raise ConfigError(f"cannot read {stdin}: {error.strerror}") from None
    result = native_mode.run(executable, tuple(args or ()), data)
    summary = {
        "executable": result.executable,
        "executable_hash": result.executable_hash,
        "args": list(result.args),
        "input_hash": result.input_hash,
        "exit_code": result.exit_code,
        "output_hash": result.output_hash,
        "stdout": result.stdout.decode(errors="replace"),
        "stderr": result.stderr.decode(errors="replace"),
        "deterministic": result.deterministic,
    }
    if as_json:
        output.print_json(summary)
    else:
        typer.echo("deterministic" if result.deterministic else "nondeterministic")
        for key, value in summary.items():
            typer.echo(f"{key}: {value}")
    if not result.deterministic:
        raise typer.Exit(output.FAILED)


def main() -> None:
    output.run(app, "bpi")
