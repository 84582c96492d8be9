"""Inclusion lists in the node (docs/inclusion.md): publish this validator's list at each
height, hold the lists its peers gossip (frame 17), and judge proposals by them.

A forged list (a bad signature, another chain, a sender outside the set) is dropped and its
sender blamed; a list that merely comes late or twice is dropped quietly. The judgement is
this validator's own view: a proposal that leaves out a listed transaction this node holds
ready, with room for it, is not prepared, the omission is counted against its proposer
(`metanode_inclusion_omissions_total`) and logged with the hashes it left out. Where the lists
it holds for that height make the case on chain data alone (state/registry/omission.py), it
also builds omission evidence (`evidence`), which the node queues for its next proposal.
The wait bound and the window are governance parameters 46 and 47, read at each commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from metanode.crypto import ed25519
from metanode.errors import DecodeError, VerificationError
from metanode.mempool.inclusion import Lists, Refused, Violation
from metanode.net.frames import Inclusion
from metanode.state.codes import OK
from metanode.state.registry import omission
from metanode.state.registry.records import read_params
from metanode.types import Address, Block
from metanode.types import constants as types_constants
from metanode.types.inclusion import InclusionList, list_txs_max
from metanode.types.omission import OmissionItem
from metanode.types.vote import Signed

from .chain import Chain
from .metrics import Metrics

log = logging.getLogger("metanode.inclusion")

Broadcast = Callable[[Inclusion], None]


def log_fields(violation: Violation) -> dict[str, object]:
    """What every log line about an omission names."""
    return {"height": violation.height, "proposer": str(violation.proposer)}


class Duty:
    def __init__(
        self,
        key: ed25519.PrivateKey,
        chain: Chain,
        chain_id: str,
        metrics: Metrics,
    ) -> None:
        self.key = key
        self.me = Address.from_public_key(key.public_key)
        self.chain = chain
        self.lists = Lists(chain_id)
        self.chain_id = chain_id
        self.metrics = metrics

    def publish(self, broadcast: Broadcast) -> None:
        """After a commit: list what waited too long for the height now decided."""
        height = self.chain.height + 1
        params = read_params(self.chain.store.state().reader)
        self.lists.window = params.inclusion_obligation_blocks
        self.lists.expire(height)
        members = self._members()
        if self.me not in members:
            return
        hashes = self.chain.pool.overdue(height, params.inclusion_wait_blocks, list_txs_max)
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

    def violates(self, block: Block) -> Violation | None:
        """What `block` leaves out that a held list names though it has room."""
        if block.header.proposer == self.me:
            return None
        violation = self.lists.judge(
            block,
            self.chain.pool.ready_entry,
            self.chain.block_txs_max,
            types_constants.block_bytes_max,
        )
        if violation is None:
            return None
        self.metrics.inclusion_omissions.inc()
        log.warning(
            "proposal refused: it leaves out listed transactions",
            extra={
                **log_fields(violation),
                "omitted": [tx_hash.hex() for tx_hash in violation.omitted],
                "omissions_by_proposer": self.lists.omissions[violation.proposer],
            },
        )
        return violation

    def evidence(self, block: Block, violation: Violation, proposal: Signed) -> OmissionItem | None:
        """Omission evidence for the first left-out transaction that makes a case the chain
        accepts (lists of the height by more than a third of the power, …), or None."""
        reader = self.chain.store.state().reader
        for tx_hash in violation.omitted:
            tx = self.chain.pool.get(tx_hash)
            lists = self.lists.naming(violation.height, tx_hash)
            if tx is None or not lists:
                continue
            item = OmissionItem(tx, tuple(lists), block, proposal)
            if omission.screen(reader, violation.height + 1, item) == OK:
                return item
        return None

    def _members(self) -> set[Address]:
        return {validator.address for validator in self.chain.validator_set().validators}
