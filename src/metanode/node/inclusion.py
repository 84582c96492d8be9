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

As a proposer it honours the lists it holds (`gather`): what they name comes first in its block,
from its pool, else from the gossip it received lately (a full pool refuses gossip, but the
transaction was seen), else asked by hash of every peer (`asks`, frame 22): the lists' authors
held it ready when they listed it, and any validator that would refuse the proposal for leaving
it out holds it too, so a node that lists a transaction but keeps it from the proposer cannot
make it look like a censor. Under overload a proposer's pool is full and refuses much of its
peers' gossip, while the validators judging it hold those transactions ready: a proposer that
built from its pool alone lost one round in six to refusals (docs/inclusion.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from metanode.crypto import ed25519
from metanode.errors import DecodeError, VerificationError
from metanode.mempool.inclusion import Lists, Refused, Violation
from metanode.net.frames import Inclusion
from metanode.state.codes import OK
from metanode.state.registry import omission
from metanode.state.registry.records import read_params
from metanode.types import Address, Block, Transaction
from metanode.types import constants as types_constants
from metanode.types.inclusion import InclusionList, list_txs_max
from metanode.types.omission import OmissionItem
from metanode.types.vote import Signed

from .chain import Chain
from .metrics import Metrics

log = logging.getLogger("metanode.inclusion")

Broadcast = Callable[[Inclusion], None]


@dataclass(frozen=True, slots=True)
class Listed:
    """What a proposer of a height puts first in its block, and what the lists name that it
    holds nowhere."""

    txs: tuple[Transaction, ...]  # by nonce, then hash: each sender's in nonce order
    lacking: tuple[bytes, ...]  # ascending


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
        # Listed hashes asked of the peers, by the height asked at: each is asked
        # once in the window, so a transaction no one holds any more costs no wait twice.
        self._asked: dict[bytes, int] = {}
        # (height, round) -> the pool's and the lists' marks when this node started that round:
        # what reached it later does not bind that round's proposal (docs/inclusion.md
        # "Fair to a proposer").
        self._cutoffs: dict[tuple[int, int], tuple[int, int]] = {}

    def publish(self, broadcast: Broadcast, committed: Iterable[bytes]) -> None:
        """After a commit (of `committed` transaction hashes): list what waited too long for
        the height now decided."""
        height = self.chain.height + 1
        self.cut_off(height, 0)  # before its own list: no proposer of `height` has seen that
        params = read_params(self.chain.store.state().reader)
        self.lists.window = params.inclusion_obligation_blocks
        self.lists.settle(height - 1, committed)
        self.lists.expire(height)
        for tx_hash in [h for h, at in self._asked.items() if at <= height - self.lists.window]:
            del self._asked[tx_hash]
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

    def gather(self, height: int, recent: Callable[[bytes], Transaction | None]) -> Listed:
        """The transactions the lists binding `height` name that this node holds, in its pool
        or among the gossip it received lately (`recent`, by hash), less those whose
        nonce committed state has passed (included already, or replaced). `Chain.propose` puts
        them first and `build_block` runs each through the ladder as a validator will (its
        signature, if this node has not verified it, and its nonce after what precedes it in
        the block), leaving out any that fails: a proposer never includes an invalid one."""
        held, lacking = self._find(height, recent)
        if not (held or lacking):
            return Listed((), ())
        view = self.chain.admission_view()
        found = [tx for tx in held if tx.nonce >= view.account(tx.sender_address)[0]]
        found.sort(key=lambda tx: (tx.nonce, tx.hash()))  # each sender's in nonce order
        return Listed(tuple(found), tuple(lacking))

    def lacking(self, height: int, recent: Callable[[bytes], Transaction | None]) -> list[bytes]:
        """The hashes the lists binding `height` name that this node holds nowhere: what
        `gather` would find lacking, without checking what it holds."""
        return self._find(height, recent)[1]

    def _find(
        self, height: int, recent: Callable[[bytes], Transaction | None]
    ) -> tuple[list[Transaction], list[bytes]]:
        """The listed transactions of `height` in the pool or among the recent gossip, and the
        hashes of those held nowhere."""
        pool = self.chain.pool
        held: list[Transaction] = []
        lacking: list[bytes] = []
        for tx_hash in sorted(self.lists.obligations(height)):
            tx = pool.get(tx_hash) or recent(tx_hash)
            if tx is not None:
                held.append(tx)
            else:
                lacking.append(tx_hash)
        return held, lacking

    def asks(self, height: int, lacking: Iterable[bytes]) -> list[bytes]:
        """Of the `lacking` listed transactions, those to ask the peers for: the ones not asked
        for before in the window."""
        fresh = [tx_hash for tx_hash in lacking if tx_hash not in self._asked]
        for tx_hash in fresh:
            self._asked[tx_hash] = height
        return fresh

    def went_without(self, listed: Listed, height: int, round_: int) -> None:
        """A proposal is made without the listed transactions `listed` lacks (asked, not sent
        in time): counted, and logged, since its validators may refuse it for them."""
        if listed.lacking:
            self.metrics.inclusion_unavailable.inc(len(listed.lacking))
            log.info(
                "proposing without listed transactions held nowhere",
                extra={"height": height, "round": round_, "txs": len(listed.lacking)},
            )

    def wanted(self, txs: Iterable[Transaction | DecodeError]) -> list[Transaction]:
        """Of an answer to `asks` (decoded), the transactions this node asked for (a peer cannot
        fill its recent gossip with anything else this way)."""
        return [tx for tx in txs if isinstance(tx, Transaction) and tx.hash() in self._asked]

    def cut_off(self, height: int, round_: int) -> None:
        """This node starts round `round_` of `height` (the first call for it counts): lists
        and transactions that reach it from now on do not bind that round's proposal."""
        if (height, round_) in self._cutoffs:
            return
        for key in [key for key in self._cutoffs if key[0] < height]:
            del self._cutoffs[key]
        self._cutoffs[height, round_] = (self.chain.pool.mark(), self.lists.mark())

    def violates(self, block: Block) -> Violation | None:
        """What `block` leaves out that a list held at its round's cutoff names, ready here at
        the cutoff, though the block has room."""
        header = block.header
        if header.proposer == self.me:
            return None
        pool = self.chain.pool
        cutoff = self._cutoffs.get((header.height, header.round))
        pool_mark, lists_mark = (None, None) if cutoff is None else cutoff
        violation = self.lists.judge(
            block,
            lambda tx_hash: pool.ready_entry(tx_hash, pool_mark),
            self.chain.block_txs_max,
            types_constants.block_bytes_max,
            lists_mark,
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
