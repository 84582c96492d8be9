"""Run a node and its gateway on one event loop until SIGINT or SIGTERM.

uvicorn serves the API on the node's own loop (so handlers call the node on its one thread).
Signals are the node's: SIGHUP reloads what may change (`Node.reload`); the first SIGINT or
SIGTERM stops the node and the server cleanly (LMDB closed, links closed); uvicorn's own signal
capture is turned off for that reason. The gateway stops before the node closes its store (its
requests admit transactions): uvicorn waits at most `gateway_stop_grace_s` for open
connections, and a gateway that has not ended a second later is cancelled, with a warning in
the log. uvicorn logs through the node's handlers (`log_config=None`), so its errors land in
`node.log` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import uvicorn
import uvloop

from metanode.errors import MetanodeError
from metanode.net.http import gateway_keepalive_s
from metanode.node.collector import tune_for_node
from metanode.node.node import Node, gateway_stop_grace_s
from metanode.node.snapshots import Trust

from . import connections, security
from .app import create_app

log = logging.getLogger("metanode.api")
# From the start of stopping, how long the process may take to end before it exits anyway: the
# gateway's grace and its cancellation, then ample time for the rest. A clean stop takes well
# under a second on an idle machine, but a starved one (a CI runner, a host under load) took 6 s
# once; a stop that takes longer than this is stuck (a thread joined at exit, a connection that
# never closes), and the forced exit logs every thread's stack to show where.
process_stop_deadline_s = gateway_stop_grace_s + 7


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the node owns SIGINT and SIGTERM


async def serve(node: Node) -> None:
    api = node.config.api
    http, ws = connections.protocols(
        connections.Limits(
            connections_per_client_max=api.connections_per_client_max,
            header_timeout_s=api.header_timeout_ms / 1000,
            body_timeout_s=api.body_timeout_ms / 1000,
        ),
        node.metrics.api_connections_dropped,
        security.connection_watch(node),
    )
    server = _Server(
        uvicorn.Config(
            create_app(node, node.hosting.executor),
            host=api.listen.host,
            port=api.listen.port,
            log_level="warning",
            log_config=None,
            lifespan="off",
            http=http,  # factories of uvicorn's own protocols, with the bounds above
            ws=ws,
            # The one WebSocket is the events stream, mostly hex hashes: permessage-deflate took
            # 3.0 µs of the loop per committed transaction per subscriber to make a 2,000-hash
            # message 78 KB of 170 KB, the hex's own redundancy (docs/performance.md, w15).
            ws_per_message_deflate=False,
            limit_concurrency=api.connections_max,
            access_log=False,
            timeout_graceful_shutdown=gateway_stop_grace_s,
            # Named, not uvicorn's default by chance: the project's clients drop an idle
            # connection well before this (net/http.py), else one reused as the gateway closes
            # it fails with "Server disconnected without sending a response".
            timeout_keep_alive=gateway_keepalive_s,
        )
    )
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        log.info("stopping on %s", sig.name)
        node.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    # `bpci server reload`: the supervisor passes its SIGHUP on.
    loop.add_signal_handler(signal.SIGHUP, node.reload)
    serving = loop.create_task(server.serve())

    async def stop_gateway() -> None:
        _exit_if_still_running_after(process_stop_deadline_s, node.config.name)
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(serving), gateway_stop_grace_s + 1)
        except TimeoutError:
            log.warning(
                "the gateway did not stop within %.0f s; cancelling its connections",
                gateway_stop_grace_s + 1,
                extra={"node": node.config.name},
            )
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)

    await node.run(stop_first=stop_gateway)


def _exit_if_still_running_after(seconds: float, name: str) -> None:
    def force() -> None:
        log.error(
            "forced exit: still stopping %.0f s after stopping began",
            seconds,
            extra={"node": name, "traceback": _stacks()},
        )
        logging.shutdown()
        os._exit(1)

    watchdog = threading.Timer(seconds, force)
    watchdog.daemon = True  # it must not keep the process alive, only end one that hangs
    watchdog.start()


def _stacks() -> str:
    """Every other thread's stack, innermost call last: where a stop that hangs is waiting."""
    me = threading.get_ident()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(
        f"thread {names.get(ident, ident)}:\n{''.join(traceback.format_stack(frame))}"
        for ident, frame in sorted(sys._current_frames().items())
        if ident != me
    )


def run(
    config_path: Path,
    key_passphrase: str,
    *,
    state_sync: bool = False,
    trust: Trust | None = None,
) -> None:
    """`metanode start`: build the node (errors surface before anything listens), then run.
    `state_sync`: as `[sync] state_sync` in its config; `trust`: the block it must install."""

    async def main() -> None:
        node = Node(config_path, key_passphrase, state_sync=state_sync, trust=trust)
        tune_for_node()
        await serve(node)

    try:
        uvloop.run(main())
    except MetanodeError as error:
        # A typed error (a wrong passphrase, a store that cannot open, a certified block this
        # node cannot execute) says what happened in its message; its caller prints it.
        log.critical("the node stopped: %s", error)
        raise
    except Exception:
        log.critical("the node stopped on an error", exc_info=True)
        raise
