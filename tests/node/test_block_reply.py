"""A node's answer to a block it asked for while catching up (`Node._on_block_reply`): read only
while it still decides that height."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metanode.net.frames import BlockReply
from metanode.node import home as dev_home
from metanode.node.node import Node
from metanode.types import Address

from .standalone import standalone

PEER = Address(bytes(range(20)))
GARBAGE = b"\x01 not a block"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    (entry,) = dev_home.init_dev(tmp_path / "net", validators=1, accounts=0)
    with standalone(entry.config_path) as node:
        yield node


def offences(node: Node) -> dict[str, int]:
    return node.network.scores.of(PEER).offences


def test_a_reply_for_a_height_decided_meanwhile_is_dropped_unread(node: Node) -> None:
    """Its block is not decoded: bytes that do not decode cost the peer nothing."""
    assert node.state is not None
    for height in (node.state.height - 1, node.state.height + 1):
        node._sync_asked = (height, 0)
        node._on_frame(PEER, BlockReply(height, GARBAGE, GARBAGE))
        assert node._sync_asked is None
    assert offences(node) == {}


def test_a_reply_for_the_height_being_decided_is_decoded_and_garbage_blamed(node: Node) -> None:
    assert node.state is not None
    node._on_frame(PEER, BlockReply(node.state.height, GARBAGE, GARBAGE))
    assert sum(offences(node).values()) == 1
