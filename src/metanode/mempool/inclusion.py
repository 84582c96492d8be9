"""Inclusion lists held by one validator, and the rule it judges a proposal by (docs/inclusion.md).

Pure: the node hands in verified lists, the set's membership and the block; time is heights.

Theory of operation. At each height every validator signs the hashes of the transactions that
have been ready in its pool for `wait_blocks` heights or more (`Pool.overdue`) and gossips the
list (frame 17). A validator holds the lists of the set's members for the last `window`
heights (governance parameter 47); their union is the obligation a proposal must meet. A
proposal violates it when a listed transaction that this validator's pool holds ready is left
out while the block has room for it, and no transaction of the same sender is in the block
(one of them may have replaced it or spent what it needed: then leaving it out is no proof). What a
validator holds is its local view, so the refusal to prepare decides nothing by itself: a
block that a third of the power refuses gets no quorum, and the round changes to another
proposer (docs/inclusion.md "What is consensus").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from metanode.state import constants as state_constants
from metanode.state.registry.records import RegistryParams
from metanode.types import Address, Block
from metanode.types import constants as types_constants
from metanode.types.inclusion import InclusionList

_DEFAULT = RegistryParams()
# Heights a listed transaction binds proposers for: governance parameter 47
# (`registry.inclusion_obligation_blocks`), which the node reads at each commit.
obligation_blocks = _DEFAULT.inclusion_obligation_blocks
# Heights a transaction waits ready in the pool before it is listed: parameter 46.
wait_blocks = _DEFAULT.inclusion_wait_blocks
# Lists held at once: one per validator and height of the longest window governance allows.
lists_max = types_constants.validators_max * state_constants.inclusion_obligation_blocks_max


class Refused(Exception):
    """A list not held, and why (the sender is blamed for some of these: `blame`)."""

    def __init__(self, reason: str, detail: str, *, blame: bool) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.blame = blame


@dataclass(frozen=True, slots=True)
class Violation:
    proposer: Address
    height: int
    omitted: tuple[bytes, ...]


class Lists:
    def __init__(self, chain_id: str, window: int = obligation_blocks) -> None:
        self.chain_id = chain_id
        self.window = window
        # height -> validator -> list
        self._held: dict[int, dict[Address, InclusionList]] = {}
        # (height, validator) -> the order its list was held in: a round's cutoff (`mark`)
        # leaves out the lists held after it.
        self._received: dict[tuple[int, Address], int] = {}
        self._count = 0
        # Listed hashes that a block committed, by the height it committed them at: they bind
        # no proposer any more, and a proposer would otherwise look for them at every height
        # of the window (`settle`).
        self._settled: dict[bytes, int] = {}
        self.omissions: dict[Address, int] = {}

    def __len__(self) -> int:
        return sum(len(by_validator) for by_validator in self._held.values())

    def hold(self, item: InclusionList, members: Collection[Address], height: int) -> None:
        """Keep a list whose signature the caller verified; `height` is the one being decided.
        Raises `Refused`: for another chain, a height outside the window, a sender outside
        the set (each the sender's fault), or a second list of one validator at one height."""
        if item.chain_id != self.chain_id:
            raise Refused("wrong_chain", f"a list of chain {item.chain_id!r}", blame=True)
        if not height - self.window < item.height <= height + 1:
            raise Refused(
                "out_of_window", f"a list of height {item.height} at {height}", blame=False
            )
        validator = item.validator
        if validator not in members:
            raise Refused("not_a_validator", f"{validator} is not in the set", blame=True)
        by_validator = self._held.setdefault(item.height, {})
        if validator in by_validator:
            raise Refused(
                "duplicate", f"{validator} listed height {item.height} already", blame=False
            )
        if len(self) >= lists_max:
            raise Refused("full", f"{lists_max} lists are held", blame=False)
        by_validator[validator] = item
        self._received[item.height, validator] = self._count
        self._count += 1

    def mark(self) -> int:
        """Lists held from now on are held after this mark (`before` of `obligations`)."""
        return self._count

    def expire(self, height: int) -> None:
        """Forget lists that bind no proposal at `height` or later."""
        for listed in [h for h in self._held if h <= height - self.window]:
            for validator in self._held.pop(listed):
                del self._received[listed, validator]
        for tx_hash in [h for h, at in self._settled.items() if at <= height - self.window]:
            del self._settled[tx_hash]

    def settle(self, height: int, tx_hashes: Iterable[bytes]) -> None:
        """Block `height` committed `tx_hashes`: those of them a held list names are met."""
        named = self._named()
        for tx_hash in tx_hashes:
            if tx_hash in named:
                self._settled[tx_hash] = height

    def naming(self, height: int, tx_hash: bytes) -> list[InclusionList]:
        """The lists of `height` that name `tx_hash`, by validator address (omission evidence
        carries them, state/registry/omission.py)."""
        by_validator = self._held.get(height, {})
        return [
            by_validator[validator]
            for validator in sorted(by_validator)
            if tx_hash in by_validator[validator].tx_hashes
        ]

    def obligations(self, height: int, before: int | None = None) -> set[bytes]:
        """What the lists binding a proposal of `height` (held before the mark `before`, if
        given) name, less what blocks committed."""
        found = self._named(height, before)
        found.difference_update(self._settled)
        return found

    def _named(self, height: int | None = None, before: int | None = None) -> set[bytes]:
        """What the held lists binding `height` (all held lists: None), held before the mark
        `before` (all: None), name."""
        found: set[bytes] = set()
        for listed, by_validator in self._held.items():
            if height is None or height - self.window < listed <= height:
                for validator, item in by_validator.items():
                    if before is None or self._received[listed, validator] < before:
                        found.update(item.tx_hashes)
        return found

    def judge(
        self,
        block: Block,
        ready: Callable[[bytes], tuple[Address, int] | None],
        txs_max: int,
        bytes_max: int,
        before: int | None = None,
    ) -> Violation | None:
        """The listed transactions `block` leaves out though it has room; `ready` gives a
        transaction's sender and size when this validator's pool holds it ready (at the
        round's cutoff), and only lists held before the mark `before` count."""
        header = block.header
        obligations = self.obligations(header.height, before)
        if not obligations:
            return None  # the common case: nothing waited too long, nothing to hash
        included = {tx.hash() for tx in block.txs}
        senders = {tx.sender_address for tx in block.txs}
        room = bytes_max - sum(len(tx.encode()) for tx in block.txs)
        omitted = []
        for tx_hash in sorted(obligations - included):
            found = ready(tx_hash)
            if found is None:
                continue
            sender, size = found
            if sender not in senders and len(block.txs) < txs_max and size <= room:
                omitted.append(tx_hash)
        if not omitted:
            return None
        self.omissions[header.proposer] = self.omissions.get(header.proposer, 0) + 1
        return Violation(header.proposer, header.height, tuple(omitted))
