"""Compact proposals (docs/decisions/compact-proposals.md): a proposal travels as its header and
its transactions' hashes, and each validator rebuilds the block from what it holds.

Theory of operation. The proposer sends its gossip batch before the proposal, on the same
ordered links, so its peers have received each transaction it reaped before they read the
proposal (node.py). A receiver checks that the hashes make the header's `txs_root` and that the
header is the signed digest, then takes each transaction from its mempool or from the
transactions gossiped to it lately (`RecentTxs`: those still waiting for admission are there).
What it lacks it asks the sender for by place (`GET_TXS`), then every peer (`Pending`), and
matches each answer (`TXS_FOR`) to its place by hash, so a wrong or foreign transaction fills
nothing. A rebuild that stays incomplete is given up: the engine never sees the proposal, sends
no PREPARE, and the round times out as if the proposer were silent. The rebuilt block is the
proposer's block byte for byte (same header, so same hash): votes, certificates and the store
never see the compact form.

Rules: no asyncio, sockets or clock here; the node owns the links and the timers and calls in.
Every collection is bounded.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from metanode.codec import encode, tags
from metanode.consensus.messages import CompactProposal, ProposalMessage
from metanode.crypto import merkle
from metanode.crypto.hashing import tagged_hash
from metanode.errors import DecodeError
from metanode.types import Address, Block, Transaction
from metanode.types import constants as types_constants

# Gossiped transactions remembered by hash for rebuilds: as many as the admission inbox holds
# (node.gossip_inbox_txs_max), since a proposal's transactions may all still wait there.
recent_txs_max = 20_000
# Rebuilds waiting for transactions: a few rounds' proposals; past this the oldest is dropped.
pending_max = 16
# How long a rebuild waits for the sender's answer before asking every peer, and again between
# asks; after `asks_max` asks it is given up (the round times out: never a wrong vote).
fetch_wait_ms = 300
asks_max = 3


class Refused(enum.StrEnum):
    """Why a compact proposal is not handed to the engine (a metric label and a log field)."""

    DIGEST_MISMATCH = "digest_mismatch"  # the signed digest is not the header's hash
    TXS_ROOT_MISMATCH = "txs_root_mismatch"  # the hashes do not make the header's txs_root
    MALFORMED = "malformed"  # a transaction matched by hash does not decode, or the block is big
    UNAVAILABLE = "txs_unavailable"  # asked `asks_max` times, still lacking some


Lookup = Callable[[bytes], Transaction | None]


class RecentTxs:
    """The latest `recent_txs_max` gossiped transactions by hash, decoded (oldest forgotten
    first). A transaction gossiped to this node is decoded once, as it arrives, for its
    admission and for any proposal that names it: kept raw, each one a proposal took from here
    was hashed on arrival and decoded again for the rebuilt block, at `--rate max` with four
    validators (most of a full pool's gossip refused) 8% of a validator's loop. One that does
    not decode is not kept: a proposal naming it asks for it, and is refused as malformed."""

    def __init__(self, size_max: int = recent_txs_max) -> None:
        self.size_max = size_max
        # Ordered, to forget the oldest in O(1): a dict's first key after many deletions from
        # its front is found by skipping their dead slots, and at the bound (every add evicting)
        # that cost 2.3 µs a transaction, 8% of a validator's loop at `--rate max` with four.
        self._by_hash: collections.OrderedDict[bytes, Transaction] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._by_hash)

    def add(self, txs: Iterable[Transaction | DecodeError]) -> None:
        """Keep the transactions of `Transaction.decode_many`'s answer."""
        by_hash = self._by_hash
        for tx in txs:
            if isinstance(tx, Transaction):
                by_hash[tx.hash()] = tx
        while len(by_hash) > self.size_max:
            by_hash.popitem(last=False)

    def get(self, tx_hash: bytes) -> Transaction | None:
        return self._by_hash.get(tx_hash)


@dataclass(slots=True)
class Rebuild:
    """One compact proposal being made whole again; `raws[i]` is None while place i is lacking."""

    compact: CompactProposal
    raws: list[bytes | None]
    # Transactions taken from the mempool, decoded already, by their bytes.
    decoded: dict[bytes, Transaction]
    # The hashes still lacking, each with its places (a hash may stand in several).
    lacking: dict[bytes, list[int]]
    sender: Address | None = None  # the peer it came from, asked first
    asks: int = 0
    fetched: int = 0

    @property
    def key(self) -> tuple[int, int, bytes]:
        signed = self.compact.signed
        return signed.height, signed.round, signed.digest

    @property
    def complete(self) -> bool:
        return not self.lacking

    def lacking_indexes(self) -> tuple[int, ...]:
        return tuple(sorted(index for places in self.lacking.values() for index in places))

    def offer(self, raws: Sequence[bytes], decoded: Sequence[Transaction | DecodeError]) -> int:
        """Fill the places whose hash a transaction of `raws` has (`decoded` is their
        `Transaction.decode_many`); return how many it filled."""
        filled = 0
        for raw, tx in zip(raws, decoded, strict=True):
            is_tx = isinstance(tx, Transaction)
            places = self.lacking.pop(tx.hash() if is_tx else tagged_hash(tags.TX, raw), None)
            if places is None:
                continue
            if is_tx:
                self.decoded[raw] = tx
            for index in places:
                self.raws[index] = raw
            filled += len(places)
        self.fetched += filled
        return filled

    def proposal(self) -> ProposalMessage:
        """The proposal with its block whole (call once `complete`); raise DecodeError if a
        transaction does not decode or the block is over `block_bytes_max`, as the full form's
        decoding would."""
        raws = [raw for raw in self.raws if raw is not None]
        compact = self.compact
        last = compact.last_certificate
        encoded = encode(
            [
                types_constants.version,
                compact.header.to_wire(),
                raws,
                list(compact.evidence),
                None if last is None else last.to_wire(),
            ]
        )
        if len(encoded) > types_constants.block_bytes_max:
            raise DecodeError(
                "too_long",
                f"block is {len(encoded)} bytes, at most {types_constants.block_bytes_max}",
            )
        fresh = iter(Transaction.decode_many([raw for raw in raws if raw not in self.decoded]))
        txs = []
        for raw in raws:
            tx = self.decoded.get(raw)
            decoded = next(fresh) if tx is None else tx
            if isinstance(decoded, DecodeError):
                raise decoded
            txs.append(decoded)
        block = Block(compact.header, tuple(txs), compact.evidence, last, encoded)
        return ProposalMessage(compact.signed, block, compact.round_changes, compact.prepares)


def start(compact: CompactProposal, mempool: Lookup, recent: Lookup) -> Rebuild | Refused:
    """Begin rebuilding `compact` from the mempool and the recent gossip, or refuse it."""
    header = compact.header
    if header.hash() != compact.signed.digest:
        return Refused.DIGEST_MISMATCH
    if merkle.root_from_leaf_hashes(list(compact.tx_hashes)) != header.txs_root:
        return Refused.TXS_ROOT_MISMATCH
    raws: list[bytes | None] = []
    decoded: dict[bytes, Transaction] = {}
    lacking: dict[bytes, list[int]] = {}
    for index, tx_hash in enumerate(compact.tx_hashes):
        tx = mempool(tx_hash) or recent(tx_hash)
        raw: bytes | None = None
        if tx is not None:
            raw = tx.encode()
            decoded[raw] = tx
        else:
            lacking.setdefault(tx_hash, []).append(index)
        raws.append(raw)
    return Rebuild(compact, raws, decoded, lacking)


@dataclass(slots=True)
class Pending:
    """Rebuilds waiting for answers, by (height, round, digest), oldest first."""

    size_max: int = pending_max
    _by_key: dict[tuple[int, int, bytes], Rebuild] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self._by_key)

    def add(self, rebuild: Rebuild) -> None:
        self._by_key[rebuild.key] = rebuild
        while len(self._by_key) > self.size_max:
            del self._by_key[next(iter(self._by_key))]

    def get(self, key: tuple[int, int, bytes]) -> Rebuild | None:
        return self._by_key.get(key)

    def drop(self, key: tuple[int, int, bytes]) -> None:
        self._by_key.pop(key, None)

    def answer(
        self,
        height: int,
        round_: int,
        raws: Sequence[bytes],
        decoded: Sequence[Transaction | DecodeError],
    ) -> list[Rebuild]:
        """Offer an answer (`decoded` is its `Transaction.decode_many`) to every rebuild of
        (height, round); return those it completed (no longer pending). An equivocating
        proposer may have sent several."""
        done = []
        for key, rebuild in list(self._by_key.items()):
            if key[:2] == (height, round_) and rebuild.offer(raws, decoded) and rebuild.complete:
                del self._by_key[key]
                done.append(rebuild)
        return done

    def forget_before(self, height: int, round_: int) -> None:
        """Drop what the engine would ignore now: proposals of lower heights or rounds."""
        for key in [key for key in self._by_key if key[:2] < (height, round_)]:
            del self._by_key[key]
