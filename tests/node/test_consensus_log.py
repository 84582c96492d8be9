"""The consensus log's writes (`node/durable.py`): nothing broadcast before the record naming it
is durable, and one write for the `Persist` actions of one engine step."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import pytest

from metanode.consensus.actions import Action, Broadcast, Persist, ScheduleTimeout
from metanode.consensus.events import StartHeight
from metanode.consensus.messages import Kind, Signed, decode_message
from metanode.consensus.record import Durable
from metanode.net.frames import Consensus, Frame
from metanode.node import home as dev_home
from metanode.node.durable import fold
from metanode.node.node import Node
from metanode.types import Address

from .standalone import standalone

WAIT_S = 60.0


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    (entry,) = dev_home.init_dev(tmp_path / "net", validators=1, accounts=0)
    with standalone(entry.config_path) as node:
        yield node


def start_height(node: Node) -> None:
    node.dispatch(StartHeight(node.chain.height + 1, node.chain.validator_set(), node.chain.seed()))


async def until(condition: object, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, f"waited {WAIT_S} s for {what}"
        await asyncio.sleep(0.01)


def watch_broadcasts(node: Node) -> list[tuple[Signed, Durable | None]]:
    """Each consensus message broadcast, with the record the log held at that moment."""
    seen: list[tuple[Signed, Durable | None]] = []
    broadcast = node.network.broadcast

    def recording(frame: Frame, *, skip: Address | None = None) -> None:
        if isinstance(frame, Consensus):
            message = decode_message(frame.message, node.chain.pool.known)
            signed = message if isinstance(message, Signed) else message.signed
            seen.append((signed, node.consensus_log.load()))
        broadcast(frame, skip=skip)

    node.network.broadcast = recording  # type: ignore[method-assign]
    return seen


def test_every_message_leaves_after_the_record_naming_it_is_durable(node: Node) -> None:
    """A lone validator's height: PROPOSAL, PREPARE and COMMIT come out of one engine step, so
    one write names the three before the first leaves."""
    seen = watch_broadcasts(node)
    saves: list[Durable] = []
    save = node.consensus_log.save

    def counting(record: Durable) -> None:
        saves.append(record)
        save(record)

    node.consensus_log.save = counting  # type: ignore[method-assign]

    async def run() -> None:
        start_height(node)
        await until(lambda: node.chain.height == 1, "height 1")

    asyncio.run(run())
    kinds = [signed.kind for signed, _ in seen]
    assert kinds == [Kind.PROPOSAL, Kind.PREPARE, Kind.COMMIT]
    for signed, record in seen:
        assert record is not None and signed in record.signed
    assert len(saves) == 1


def record(height: int, signed: int) -> Durable:
    return Durable(height=height, round=0, signed=tuple(fake_signed(i) for i in range(signed)))


def fake_signed(index: int) -> Signed:
    return Signed(Kind.PREPARE, 1, index, bytes(32), None, b"", Address(bytes(20)), bytes(64))


def test_fold_takes_the_last_record_of_the_height_and_keeps_the_rest_in_order() -> None:
    first, second, third = record(1, 1), record(1, 2), record(1, 3)
    broadcast = Broadcast(fake_signed(0))
    timeout = ScheduleTimeout(1, 0, 1_000)
    actions: deque[Action] = deque([broadcast, Persist(second), timeout, Persist(third), broadcast])
    assert fold(first, actions) == third
    assert list(actions) == [broadcast, timeout, broadcast]


def test_fold_leaves_a_record_of_another_height() -> None:
    other = Persist(record(2, 1))
    actions: deque[Action] = deque([other])
    assert fold(record(1, 1), actions) == record(1, 1)
    assert list(actions) == [other]
