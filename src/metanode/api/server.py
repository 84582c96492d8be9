"""Run a node and its gateway on one event loop until SIGINT or SIGTERM.

uvicorn serves the API on the node's own loop (so handlers call the node on its one thread).
Signals are the node's: the first one stops the node and the server cleanly (LMDB closed,
links closed); uvicorn's own signal capture is turned off for that reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path

import uvicorn
import uvloop

from metanode.node.collector import tune_for_node
from metanode.node.node import Node

from .app import create_app

log = logging.getLogger("metanode.api")


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the node owns SIGINT and SIGTERM


async def serve(node: Node) -> None:
    listen = node.config.api.listen
    server = _Server(
        uvicorn.Config(
            create_app(node),
            host=listen.host,
            port=listen.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
    )
    loop = asyncio.get_running_loop()

    def stop() -> None:
        node.stop()
        server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    api = loop.create_task(server.serve())
    try:
        await node.run()
    finally:
        server.should_exit = True
        await api


def run(config_path: Path) -> None:
    """`metanode start`: build the node (errors surface before anything listens), then run."""

    async def main() -> None:
        node = Node(config_path)
        tune_for_node()
        log.info("node %s (%s) starting", node.config.name, node.me)
        await serve(node)

    uvloop.run(main())
