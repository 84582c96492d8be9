"""`bpi dev APP_DIR`: the app developer's watch loop against a dev chain (docs/devloop.md).

Every `--poll-s` it looks at the app's sources (their sizes and modification times); when they
changed it rebuilds the module, and when the module's bytes changed it deploys it (the first
time) or upgrades the app to it (a new version under the same app id, `UpgradeApp`). Meanwhile
it prints a one-line summary of each of the app's calls as this node's executor answers them:
seq, outcome, fuel used, output. A build that fails is printed and the watch goes on.

Building: a WAT or WASM module (app.toml's `module`, default app.wat) needs no toolchain; a
Rust crate (Cargo.toml in APP_DIR) is built by `cargo build --release --target
wasm32-unknown-unknown` when cargo is on PATH. An AssemblyScript project, and the app's own
log lines (the executor keeps them in the call's bundle, which the gateway does not serve),
are not built: the first is refused with a typed error that says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer

from metanode.errors import ConfigError, MetanodeError
from metanode.types import UpgradeApp

from . import wallet
from .network import DEFAULT_HOME
from .wallet import Home, NodeUrl

RUST_TARGET = "wasm32-unknown-unknown"
# Sources whose change triggers a rebuild, under APP_DIR (build outputs are not sources).
SOURCE_SUFFIXES = {".wat", ".wasm", ".toml", ".rs"}
IGNORED_DIRS = {"target", "node_modules", ".git", "state"}
BUILD_TIMEOUT_S = 600.0
receipts_page = 100


class BuildFailed(MetanodeError):
    """The app's module could not be built (the toolchain's message follows)."""


class NotBuilt(MetanodeError):
    """A kind of app project this command cannot build yet."""


def sources_state(app_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime) of every source file: what a change is seen by."""
    found = []
    for path in sorted(app_dir.rglob("*")):
        relative = path.relative_to(app_dir)
        ignored = IGNORED_DIRS.intersection(relative.parts[:-1])
        if path.is_file() and path.suffix in SOURCE_SUFFIXES and not ignored:
            stat = path.stat()
            found.append((str(relative), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def build(app_dir: Path) -> tuple[Path, bytes]:
    """The module path (for its manifest) and its WASM bytes."""
    from .bpi import module_bytes  # noqa: PLC0415 - bpi registers this command: no cycle

    if (app_dir / "Cargo.toml").exists():
        return _build_rust(app_dir)
    if (app_dir / "package.json").exists() and not (app_dir / "app.toml").exists():
        raise NotBuilt(
            f"{app_dir} is a JavaScript (AssemblyScript?) project: `bpi dev` builds WAT, WASM "
            "and Rust apps only; build the .wasm yourself and name it in app.toml's module"
        )
    module = app_dir / _manifest_module(app_dir)
    try:
        return module, module_bytes(module)
    except ConfigError as error:
        raise BuildFailed(str(error)) from None


def _manifest_module(app_dir: Path) -> str:
    path = app_dir / "app.toml"
    if not path.exists():
        return "app.wat"
    try:
        table = tomllib.loads(path.read_text()).get("app", {})
    except tomllib.TOMLDecodeError as error:
        raise BuildFailed(f"{path} is not valid TOML: {error}") from None
    return str(table.get("module", "app.wat"))


def _build_rust(app_dir: Path) -> tuple[Path, bytes]:
    cargo = shutil.which("cargo")
    if cargo is None:
        raise BuildFailed(f"{app_dir} is a Rust crate and cargo is not on PATH (rustup.rs)")
    command = [cargo, "build", "--release", "--target", RUST_TARGET, "--message-format", "json"]
    done = subprocess.run(
        command, cwd=app_dir, capture_output=True, text=True, check=False, timeout=BUILD_TIMEOUT_S
    )
    if done.returncode != 0:
        raise BuildFailed(done.stderr.strip()[-2000:] or f"cargo exited {done.returncode}")
    artifacts = [
        Path(filename)
        for line in done.stdout.splitlines()
        if line.startswith("{")
        for filename in json.loads(line).get("filenames", [])
        if filename.endswith(".wasm")
    ]
    if not artifacts:
        raise BuildFailed(f"cargo built no .wasm in {app_dir} (is its crate-type cdylib?)")
    return app_dir / "app.toml", artifacts[-1].read_bytes()


def publish(
    url: str, key: Any, module: Path, code: bytes, app_id: str | None
) -> tuple[str, dict[str, Any]]:
    """Deploy `code` (or, once the app exists, upgrade it to `code`): the app id and the
    gateway's view of the app (version, calls made)."""
    from metanode.docklock import cage  # noqa: PLC0415 - wasmtime loads only here (start-up)

    from .bpi import deploy_message  # noqa: PLC0415 - as in build

    if app_id is None:
        record = wallet.commit(url, key, deploy_message(module, code))
        code_name = record["receipt"]["code_name"]
        if not record["ok"] and code_name != "apps.app_exists":
            raise BuildFailed(f"the chain refused the deploy: {code_name}")
        app_id = cage.app_id(code).hex()  # deployed now, or by an earlier session
    else:
        record = wallet.commit(url, key, UpgradeApp(bytes.fromhex(app_id), code))
        if not record["ok"]:
            raise BuildFailed(f"the chain refused the upgrade: {record['receipt']['code_name']}")
    view: dict[str, Any] = wallet.call("GET", f"{url}/api/v1/apps/{app_id}")
    return app_id, view


def stream_receipts(url: str, app_id: str, next_seq: int) -> int:
    """Print the receipts of calls `next_seq` on that are there now; the next seq to read."""
    path = f"{url}/api/v1/apps/{app_id}/receipts"
    page = wallet.call("GET", path, (404,), params={"from": next_seq, "limit": receipts_page})
    for receipt in page.get("receipts", []):
        typer.echo(
            f"call {receipt['seq']}: {receipt['outcome']}, fuel {receipt['fuel_used']}, "
            f"output {receipt['output'] or '(none)'}"
        )
        next_seq = receipt["seq"] + 1
    return next_seq


def dev(
    app_dir: Annotated[Path, typer.Argument(help="The app's directory (app.toml, app.wat…).")],
    sender: Annotated[str, typer.Option("--from", help="Key name in the home.")] = "dev0",
    poll_s: Annotated[float, typer.Option(min=0.05, help="Seconds between looks.")] = 0.5,
    once: Annotated[
        bool, typer.Option("--once", help="Build and deploy (or upgrade) once, then exit.")
    ] = False,
    home: Home = DEFAULT_HOME,
    node: NodeUrl = None,
) -> None:
    """Watch APP_DIR: rebuild on change, deploy then upgrade it on the dev chain, and print
    each call's receipt (seq, outcome, fuel, output) as it comes. Ctrl-C stops."""
    if not app_dir.is_dir():
        raise ConfigError(f"{app_dir} is not a directory (make one with `bpi init NAME`)")
    url = wallet.gateway(home, node)
    key = wallet.signer(home, sender)
    app_id: str | None = None
    deployed: bytes | None = None
    seen: tuple[tuple[str, int, int], ...] | None = None
    next_seq = 0
    try:
        while True:
            state = sources_state(app_dir)
            if state != seen:
                seen = state
                try:
                    module, code = build(app_dir)
                    if code != deployed:
                        first = app_id is None
                        app_id, view = publish(url, key, module, code, app_id)
                        if first:  # calls made before this session are not news
                            next_seq = view["calls"]
                        deployed = code
                        version = view["version"]
                        what = "deployed" if version == 1 else "upgraded"
                        typer.echo(f"{what} app {app_id} v{version} ({len(code)} bytes)")
                except BuildFailed as error:
                    if once:
                        raise
                    typer.echo(f"build failed: {error}", err=True)
            if once:
                return
            if app_id is not None:
                next_seq = stream_receipts(url, app_id, next_seq)
            time.sleep(poll_s)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how watching ends: not a failure
