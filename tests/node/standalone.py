"""A node built in-process with its engine's state as `Node._start_engine` makes it, without
starting the height's rounds, a network or a gateway: for tests that drive one step by hand."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from metanode.consensus import engine
from metanode.node import home as dev_home
from metanode.node.node import Node


@contextmanager
def standalone(config_path: Path) -> Iterator[Node]:
    node = Node(config_path, dev_home.DEV_PASSWORD)
    try:
        node.state = engine.new_state(
            node.engine_config,
            node.suite,
            node.signer,
            node.chain.height + 1,
            node.chain.validator_set(),
            node.chain.seed(),
            None,
        )
        yield node
    finally:
        node.consensus_log.close()
        node.store.close()
