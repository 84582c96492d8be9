"""Inclusion lists in the node (docs/inclusion.md): publish this validator's list at each
height, hold the lists its peers gossip (frame 17), and judge proposals by them.

A forged list (a bad signature, another chain, a sender outside the set) is dropped and its
sender blamed; a list that merely comes late or twice is dropped quietly. The judgement is
this validator's own view: a proposal that leaves out a listed transaction this node holds
ready, with room for it, is not prepared, the omission is counted against its proposer
(`metanode_inclusion_omissions_total`) and logged with the hashes it left out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from metanode.crypto import ed25519
from metanode.errors import DecodeError, VerificationError
from metanode.mempool import inclusion
from metanode.mempool.inclusion import Lists, Refused
from metanode.net.frames import Inclusion
from metanode.types import Address, Block
from metanode.types import constants as types_constants
from metanode.types.inclusion import InclusionList, list_txs_max

from .chain import Chain
from .metrics import Metrics

log = logging.getLogger("metanode.inclusion")

Broadcast = Callable[[Inclusion], None]


class Duty:
    def __init__(
        self,
        key: ed25519.PrivateKey,
        chain: Chain,
        chain_id: str,
        metrics: Metrics,
        wait_blocks: int = inclusion.wait_blocks,
    ) -> None:
        self.key = key
        self.wait_blocks = wait_blocks
        self.me = Address.from_public_key(key.public_key)
        self.chain = chain
        self.lists = Lists(chain_id)
        self.chain_id = chain_id
        self.metrics = metrics

    def publish(self, broadcast: Broadcast) -> None:
        """After a commit: list what waited too long for the height now decided."""
        height = self.chain.height + 1
        self.lists.expire(height)
        members = self._members()
        if self.me not in members:
            return
        hashes = self.chain.pool.overdue(height, self.wait_blocks, list_txs_max)
        if not hashes:
            return
        item = InclusionList.signed(self.key, self.chain_id, height, hashes)
        self.lists.hold(item, members, height)
        broadcast(Inclusion(item.encode()))
        self.metrics.inclusion_listed.inc(len(hashes))
        log.info("inclusion list published", extra={"height": height, "txs": len(hashes)})

    def on_frame(self, frame: Inclusion) -> str | None:
        """Hold a gossiped list; what to blame its sender for, if anything."""
        try:
            item = InclusionList.decode(frame.inclusion_list)
            item.verify()
            self.lists.hold(item, self._members(), self.chain.height + 1)
        except DecodeError as error:
            return f"inclusion_{error.rule}"
        except VerificationError:
            return "inclusion_forged"
        except Refused as refused:
            return f"inclusion_{refused.reason}" if refused.blame else None
        return None

    def violates(self, block: Block) -> bool:
        """Whether `block` leaves out what a held list names though it has room."""
        if block.header.proposer == self.me:
            return False
        violation = self.lists.judge(
            block,
            self.chain.pool.ready_entry,
            self.chain.block_txs_max,
            types_constants.block_bytes_max,
        )
        if violation is None:
            return False
        self.metrics.inclusion_omissions.inc()
        log.warning(
            "proposal refused: it leaves out listed transactions",
            extra={
                "height": violation.height,
                "proposer": str(violation.proposer),
                "omitted": [tx_hash.hex() for tx_hash in violation.omitted],
                "omissions_by_proposer": self.lists.omissions[violation.proposer],
            },
        )
        return True

    def _members(self) -> set[Address]:
        return {validator.address for validator in self.chain.validator_set().validators}
