"""`bpci server start | stop | status | reload`: a node as one supervised service
(cli/supervisor.py; docs/server.md).

`start` runs the supervisor in the foreground (systemd's `Type=simple`, deploy/systemd/) or,
with `--detach`, in the background, returning once its node runs (or the supervisor has
given up, with its reason). `stop` and `reload` signal the supervisor that holds the home's
lock (SIGTERM, SIGHUP); `reload` first loads the configuration and refuses one that does not
load, naming the field, so a running server never receives it. `status` reads `server.json`
and the node's gateway (`/api/v1/status`, `/ready`). Exit codes follow output.py.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from metanode.errors import ConfigError

from . import output, supervisor

# pydantic's config models load only in the commands that read a config: `bpci` registers
# these commands at every start.
if TYPE_CHECKING:
    from metanode.node import config as node_config

app = typer.Typer(
    name="server",
    help="Run a node as one supervised service: start, stop, status, reload.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
ServerHome = Annotated[Path, typer.Option("--home", help="The node's directory (config.toml).")]
status_timeout_s = 3.0
# How long `start --detach` waits for the node to be started (a long store check may take more:
# the supervisor goes on, and `status` shows it).
detach_wait_s_default = 120.0


def _config(home: Path) -> node_config.NodeConfig:
    from metanode.node import config as node_config  # noqa: PLC0415 - see TYPE_CHECKING

    return node_config.load(home / "config.toml")


@app.command()
def start(
    home: ServerHome,
    detach: Annotated[
        bool, typer.Option(help="Run in the background; return once the node has started.")
    ] = False,
    wait_s: Annotated[
        float, typer.Option(help="With --detach, how long to wait for the node to start.")
    ] = detach_wait_s_default,
    log_console: Annotated[
        bool, typer.Option(help="Print the supervisor's log on stderr as well.")
    ] = True,
    as_json: output.Json = False,
) -> None:
    """Supervise the node in HOME: check its store, start it, restart it after a crash."""
    _config(home)  # a bad configuration is refused here, before anything starts
    running = supervisor.running_pid(home)
    if running is not None:
        raise ConfigError(f"a server already runs for {home} (supervisor pid {running})")
    if not detach:
        raise typer.Exit(supervisor.Supervisor(home).run(console=log_console))
    with (home / "server.stderr.log").open("ab") as out:
        process = supervisor.detach(home, out)
    deadline = time.monotonic() + wait_s
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = supervisor.read_state(home) or {}
        mine = state.get("supervisor_pid") == process.pid
        if process.poll() is not None or (
            mine and state.get("state") in ("running", "crash_loop", "failed", "stopped")
        ):
            break
        time.sleep(0.1)
    code = process.poll()
    if code is not None or state.get("supervisor_pid") != process.pid:
        said = (home / "server.stderr.log").read_text(errors="replace").strip().splitlines()
        reason = said[-1] if said else state.get("detail", "no reason given")
        typer.echo(f"bpci server: the server did not start: {reason}", err=True)
        raise typer.Exit(code if code in (output.FAILED, output.USAGE) else output.FAILED)
    if as_json:
        output.print_json(state)
        return
    typer.echo(
        f"server {state['state']}: supervisor pid {process.pid}, node pid {state['node_pid']}"
        + (f" ({state['detail']})" if state.get("detail") else "")
    )


@app.command()
def stop(
    home: ServerHome,
    wait_s: Annotated[float, typer.Option(help="How long to wait for it to stop.")] = 40.0,
) -> None:
    """Stop the node, then its supervisor."""
    pid = _running(home)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while supervisor.running_pid(home) is not None:
        if time.monotonic() > deadline:
            typer.echo(f"bpci server: still running {wait_s:.0f} s after SIGTERM", err=True)
            raise typer.Exit(output.FAILED)
        time.sleep(0.1)
    typer.echo(f"server stopped (supervisor pid {pid})")


@app.command()
def reload(home: ServerHome) -> None:
    """Apply the configuration's server section and log level without a restart (the other
    settings take effect at the next restart; server.log names them)."""
    _config(home)  # never send a running server a configuration that does not load
    pid = _running(home)
    os.kill(pid, signal.SIGHUP)
    typer.echo(f"reload sent to the server (supervisor pid {pid}); see {home / 'server.log'}")


def _running(home: Path) -> int:
    pid = supervisor.running_pid(home)
    if pid is None:
        typer.echo(f"bpci server: no server runs for {home}", err=True)
        raise typer.Exit(output.FAILED)
    return pid


@app.command()
def status(home: ServerHome, as_json: output.Json = False) -> None:
    """Each role's state, height, peers, lag behind the best known height and the last
    restart with its cause; exit 1 when no server runs."""
    cfg = _config(home)
    report = _status(home, cfg)
    if as_json:
        output.print_json(report)
    else:
        _show(report)
    if not report["running"]:
        raise typer.Exit(output.FAILED)


def _status(home: Path, cfg: node_config.NodeConfig) -> dict[str, Any]:
    state = supervisor.read_state(home) or {}
    running = supervisor.running_pid(home) is not None
    url = f"http://{cfg.api.listen.host}:{cfg.api.listen.port}"
    node = _get(f"{url}/api/v1/status")
    ready = _get(f"{url}/ready")
    roles = cfg.server.roles if not running else state.get("roles", cfg.server.roles)
    return {
        "home": str(home),
        "running": running,
        "state": state.get("state", "never started") if running else "stopped",
        "detail": state.get("detail", ""),
        "supervisor_pid": state.get("supervisor_pid") if running else None,
        "node_pid": state.get("node_pid") if running else None,
        "roles": _roles(roles, node),
        "height": None if node is None else node["height"],
        "peers": None if node is None else node["peers"],
        "best_height": None if ready is None else ready["best_height"],
        "lag": None if ready is None else ready["lag"],
        "ready": None if ready is None else ready["ready"],
        "failing": [] if ready is None else ready["failing"],
        "restarts": state.get("restarts", 0),
        "last_restart": state.get("last_restart"),
        "recoveries": state.get("recoveries", []),
    }


def _roles(roles: list[str], node: dict[str, Any] | None) -> dict[str, str]:
    from metanode.node import config as node_config  # noqa: PLC0415 - as in _config

    states = {}
    for role in node_config.ROLES:
        if role not in roles:
            states[role] = "off"
        elif node is None:
            states[role] = "down"
        elif role == "validator":
            states[role] = "signing" if node["validator"] else "not in the validator set"
        else:
            states[role] = "on"
    return states


def _get(url: str) -> dict[str, Any] | None:
    """A gateway's JSON answer (a 503 from /ready carries its checks too), or None."""
    import httpx  # noqa: PLC0415 - loads only for status (cli/ start-up)

    try:
        answer = httpx.get(url, timeout=status_timeout_s)
        return answer.json() if answer.status_code in (200, 503) else None
    except (httpx.HTTPError, ValueError):
        return None


def _show(report: dict[str, Any]) -> None:
    lines = [
        f"server   {report['state']}" + (f": {report['detail']}" if report["detail"] else ""),
        f"pids     supervisor {report['supervisor_pid']}, node {report['node_pid']}",
        "roles    " + ", ".join(f"{role} {state}" for role, state in report["roles"].items()),
        f"height   {report['height']} (best known {report['best_height']}, lag {report['lag']})",
        f"peers    {report['peers']}",
        f"ready    {report['ready']}"
        + "".join(f"\n  failing: {reason}" for reason in report["failing"]),
    ]
    last = report["last_restart"]
    restarts = f"restarts {report['restarts']}"
    if last is not None:
        restarts += f" (last at {last['at']}: {last['cause']})"
    lines.append(restarts)
    lines += [
        f"recovered at {done['at']}: {done['problem']} -> {done['done']}"
        for done in report["recoveries"]
    ]
    typer.echo("\n".join(lines))
