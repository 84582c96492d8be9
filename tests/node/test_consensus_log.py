"""A validator saves its write-ahead record (`node/durable.py`) in the log's writer thread, off
its event loop, and still sends a message only once the record that holds it is on disk: the
node carries out nothing after a `Persist` until the save is done (real node, real LMDB)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from pathlib import Path

from metanode.consensus.record import Durable
from metanode.net.frames import Frame
from metanode.node import home as dev_home
from metanode.node.durable import ConsensusLog
from metanode.node.node import Node

HEIGHTS = 3


class WatchedLog(ConsensusLog):
    """The node's log, noting the saves asked for, the saves done and the threads that did
    them."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.asked = 0
        self.saved: list[Durable] = []
        self.threads: set[int] = set()

    def save_soon(self, record: Durable) -> Future[None]:
        self.asked += 1
        return super().save_soon(record)

    def save(self, record: Durable) -> None:
        super().save(record)
        self.saved.append(record)
        self.threads.add(threading.get_ident())


async def decide(node: Node, log: WatchedLog) -> list[tuple[int, int, bool]]:
    """Run the engine of the network's one validator to `HEIGHTS`; per message sent: the saves
    asked for and done by then, and whether the record on disk was the last one asked for."""
    sent: list[tuple[int, int, bool]] = []
    broadcast = node.network.broadcast

    def watched(frame: Frame) -> None:
        on_disk = log.load()
        sent.append((log.asked, len(log.saved), bool(log.saved) and on_disk == log.saved[-1]))
        broadcast(frame)

    node.network.broadcast = watched  # type: ignore[method-assign]
    node._start_engine()
    async with asyncio.timeout(120):  # generous: a loaded machine; only the order is the claim
        while node.chain.height < HEIGHTS:
            await asyncio.sleep(0.02)
    node.stop()
    return sent


def test_a_validator_sends_a_message_only_after_its_record_is_saved_off_the_loop(
    tmp_path: Path,
) -> None:
    (entry,) = dev_home.init_dev(tmp_path / "net", validators=1, accounts=0)
    node = Node(entry.config_path, dev_home.DEV_PASSWORD)
    node.consensus_log.close()
    log = node.consensus_log = WatchedLog(node.paths.consensus)
    try:
        sent = asyncio.run(decide(node, log))
    finally:
        log.close()
        node.store.close()
    assert len(sent) >= HEIGHTS * 2  # a proposal, a prepare and a commit per height
    assert all(asked == saved and on_disk for asked, saved, on_disk in sent), sent
    assert threading.get_ident() not in log.threads
