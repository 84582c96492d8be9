"""Relay storage in the node: the HTTP transport of shares and chunks, the reader that
fetches a blob from any k holders, and the keeper that challenges holders and repairs shares.

Transport: the gateways' `/api/v1/blobs/…` endpoints (api/blobs.py), over HTTP with httpx,
rather than P2P frames: readers and writers outside the network (`bpi blob`) must reach the
storage nodes anyway, a share (up to a quarter of a 64 MiB blob) is far beyond what a P2P frame
should carry on the consensus connections, and HTTP brings streaming bodies, timeouts and
back-pressure for free. A share travels as CBOR `[outboard, [chunk, …]]` (the outboard: every
coded chunk's leaf hash, concatenated), a challenged chunk as `[chunk, [proof hash, …]]`;
whoever receives either checks it against the coded root on chain before using it.

A storage node knows the other storage nodes' gateways from its configuration
(`[storage] gateways`) and learns which node answers at each (`GET /api/v1/blobs/node`).

The keeper (`Keeper.on_committed`, every `challenge_blocks` blocks): from the committed state
it lists (1) the shares placed on this node that its store lacks (placed, or moved to it by
`ReportStorageFault`), and (2) for each blob it holds a share of, placed at least
`grace_blocks` ago (its owner uploads after the placement commits), the chunk each other holder
must produce, drawn from the block's hash (storage/challenges.py). Off the commit path, in one
task at a time, it rebuilds each missing share from k verified shares of other holders and
stores it, then challenges; a holder that does not answer, or answers a chunk that does not
verify, is reported once (`ReportStorageFault`), and the chain moves the share once k
holders agree (state/storage/rules.py). Each round first drops the shares the chain no longer
places here (a blob its owner deleted, a share moved away), with or without gateways.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from metanode.codec import decode, encode
from metanode.crypto.merkle import HASH_BYTES
from metanode.errors import DecodeError
from metanode.net import http
from metanode.state.storage import queries
from metanode.state.storage.records import Placement
from metanode.state.view import StateReader
from metanode.storage import coding
from metanode.storage.challenges import challenged_stripe
from metanode.storage.errors import ChunkRejected, StorageError, TooFewChunks
from metanode.types import Address, ReportStorageFault
from metanode.types.messages import Message

from .chunks import ChunkStore, Share, check_share

log = logging.getLogger("metanode.node")

timeout_s = 30.0
# Blobs whose holders one round challenges, and shares it rebuilds: a round is bounded work.
challenges_per_round_max = 4_096
repairs_per_round_max = 256
# Reports one round submits, in one batch at consecutive nonces: within the mempool's pending
# transactions of one sender (the rest are found again next round).
reports_per_round_max = 64
# Shares one round drops (deleted blobs, moved shares): one write transaction each.
drops_per_round_max = 1_024


def share_body(leaves: Sequence[bytes], chunks: Sequence[bytes]) -> bytes:
    return encode([b"".join(leaves), list(chunks)])


def parse_share(body: bytes) -> Share:
    try:
        outboard, chunks = decode(body)
    except (DecodeError, ValueError, TypeError) as error:
        raise ChunkRejected(
            "share_malformed", f"a share is CBOR [outboard, [chunk…]]: {error}"
        ) from None
    if (
        not isinstance(outboard, bytes)
        or len(outboard) % HASH_BYTES
        or not isinstance(chunks, tuple)
    ):
        raise ChunkRejected("share_malformed", "a share is CBOR [outboard, [chunk…]]")
    if not all(isinstance(chunk, bytes) for chunk in chunks):
        raise ChunkRejected("share_malformed", "every chunk is a byte string")
    leaves = tuple(outboard[at : at + HASH_BYTES] for at in range(0, len(outboard), HASH_BYTES))
    return Share(leaves, chunks)


@dataclass(frozen=True, slots=True)
class Target:
    """One blob as the chain places it: what any transfer is checked against."""

    root: bytes
    coded_root: bytes
    layout: coding.Layout
    holders: tuple[Address, ...]

    @classmethod
    def of(cls, root: bytes, record: Placement) -> Target:
        return cls(root, record.coded_root, record.layout, record.holders)

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> Target:
        """From a gateway's `GET /api/v1/blobs/{root}` answer (the chain's placement)."""
        return cls(
            bytes.fromhex(view["root"]),
            bytes.fromhex(view["coded_root"]),
            coding.Layout(view["size"], view["k"], view["n"], view["chunk_bytes"]),
            tuple(Address.parse(holder) for holder in view["holders"]),
        )


async def placed(client: httpx.AsyncClient, url: str, root: bytes) -> Target:
    answer = await client.get(f"{url}/api/v1/blobs/{root.hex()}")
    answer.raise_for_status()
    return Target.from_view(answer.json())


async def node_address(client: httpx.AsyncClient, url: str) -> Address:
    answer = await client.get(f"{url}/api/v1/blobs/node")
    answer.raise_for_status()
    return Address.parse(answer.json()["address"])


async def directory(client: httpx.AsyncClient, urls: Iterable[str]) -> dict[Address, str]:
    """Which node answers at each gateway; those that do not answer are left out."""
    found: dict[Address, str] = {}
    for url in urls:
        try:
            found[await node_address(client, url)] = url
        except (httpx.HTTPError, KeyError, ValueError) as error:
            log.info("storage gateway not reachable", extra={"url": url, "error": str(error)})
    return found


async def push_share(
    client: httpx.AsyncClient, url: str, root: bytes, share: int, held: Share
) -> None:
    answer = await client.put(
        f"{url}/api/v1/blobs/{root.hex()}/shares/{share}",
        content=share_body(held.leaves, held.chunks),
        headers={"content-type": "application/cbor"},
    )
    answer.raise_for_status()


async def put_blob(
    client: httpx.AsyncClient, nodes: dict[Address, str], target: Target, encoded: coding.Encoded
) -> None:
    """Each share of a placed blob to the node the chain placed it on."""
    for share, holder in enumerate(target.holders):
        url = nodes.get(holder)
        if url is None:
            raise StorageError(
                "holder_unreachable", f"no gateway given answers for {holder}, holder of {share}"
            )
        await push_share(
            client, url, target.root, share, Share(encoded.leaves, tuple(encoded.share(share)))
        )


async def fetch_share(client: httpx.AsyncClient, url: str, target: Target, share: int) -> Share:
    """Share `share` from the node at `url`, verified whole against the coded root."""
    answer = await client.get(f"{url}/api/v1/blobs/{target.root.hex()}/shares/{share}")
    answer.raise_for_status()
    held = parse_share(answer.content)
    check_share(target.layout, target.coded_root, share, held.leaves, held.chunks)
    return held


async def gather(
    client: httpx.AsyncClient,
    nodes: dict[Address, str],
    target: Target,
    *,
    skip: int | None = None,
    local: dict[int, Share] | None = None,
) -> dict[int, Share]:
    """k verified shares of the blob (`local` ones first, then the data shares, then the
    others), each from its holder; a holder that fails is logged and passed over."""
    found = dict(local or {})
    layout = target.layout
    for share, holder in enumerate(target.holders):
        if len(found) >= layout.k:
            break
        url = nodes.get(holder)
        if share == skip or share in found or url is None:
            continue
        try:
            found[share] = await fetch_share(client, url, target, share)
        except (httpx.HTTPError, StorageError) as error:
            log.info(
                "share not fetched",
                extra={"root": target.root.hex(), "share": share, "error": str(error)},
            )
    if len(found) < layout.k:
        raise TooFewChunks(
            "too_few_chunks",
            f"{len(found)} verified shares of blob {target.root.hex()} reached, {layout.k} needed",
        )
    return found


def stripes_of(layout: coding.Layout, shares: dict[int, Share]) -> list[dict[int, bytes]]:
    return [
        {share: held.chunks[stripe] for share, held in shares.items()}
        for stripe in range(layout.stripes)
    ]


async def read_blob(
    client: httpx.AsyncClient,
    nodes: dict[Address, str],
    target: Target,
    local: dict[int, Share] | None = None,
) -> bytes:
    shares = await gather(client, nodes, target, local=local)
    return coding.decode(target.layout, target.root, stripes_of(target.layout, shares))


def local_shares(store: ChunkStore, me: Address, target: Target) -> dict[int, Share]:
    """The blob's shares placed on `me` that its own store holds and that still verify (a
    disk may rot: one that does not is passed over, and read from another holder)."""
    found: dict[int, Share] = {}
    for share, holder in enumerate(target.holders):
        held = store.share(target.root, share, target.layout.stripes) if holder == me else None
        if held is None:
            continue
        try:
            check_share(target.layout, target.coded_root, share, held.leaves, held.chunks)
        except ChunkRejected as error:
            log.warning(
                "a held share does not verify",
                extra={"root": target.root.hex(), "share": share, "error": str(error)},
            )
            continue
        found[share] = held
    return found


async def fetch_blob(
    gateways: Sequence[str], target: Target, local: dict[int, Share] | None = None
) -> bytes:
    """The blob from the `local` shares and any others of its holders among the nodes at
    `gateways` until k are verified; checked against its root."""
    async with http.async_client(timeout_s) as client:
        return await read_blob(client, await directory(client, gateways), target, local)


def rebuild(target: Target, shares: dict[int, Share], share: int) -> Share:
    layout = target.layout
    leaves = next(iter(shares.values())).leaves
    chunks = tuple(
        coding.rebuild_share(layout, pieces, share) for pieces in stripes_of(layout, shares)
    )
    return Share(leaves, chunks)


async def challenge(
    client: httpx.AsyncClient, url: str, target: Target, share: int, stripe: int
) -> str | None:
    """Why the holder at `url` failed the challenge, or None if it answered a chunk that
    verifies."""
    try:
        answer = await client.get(f"{url}/api/v1/blobs/{target.root.hex()}/chunks/{stripe}/{share}")
        answer.raise_for_status()
        chunk, proof = decode(answer.content)
        coding.verify_chunk(target.layout, target.coded_root, stripe, share, chunk, list(proof))
    except (httpx.HTTPError, StorageError, DecodeError, ValueError, TypeError) as error:
        return str(error) or type(error).__name__
    return None


@dataclass(frozen=True, slots=True)
class Round:
    block_hash: bytes
    missing: tuple[tuple[Target, int], ...]  # (blob, share) placed here, not in the store
    challenges: tuple[tuple[Target, int, int], ...]  # (blob, share, stripe) to ask its holder


class Keeper:
    def __init__(
        self,
        me: Address,
        store: ChunkStore,
        gateways: Sequence[str],
        challenge_blocks: int,
        grace_blocks: int,
        submit: Callable[[Sequence[Message]], None],
        spawn: Callable[[Any], None],
    ) -> None:
        self.me = me
        self.store = store
        self.gateways = tuple(gateways)
        self.challenge_blocks = challenge_blocks
        self.grace_blocks = grace_blocks
        self._submit = submit
        self._spawn = spawn
        self._running = False
        self._reported: set[tuple[bytes, int, Address]] = set()

    def on_committed(self, reader: StateReader, height: int, block_hash: bytes) -> None:
        if height % self.challenge_blocks:
            return
        self.sweep(reader)
        if not self.gateways or self._running:
            return
        work = self.plan(reader, height, block_hash)
        if work.missing or work.challenges:
            self._running = True
            self._spawn(self._run(work))

    def sweep(self, reader: StateReader) -> list[tuple[bytes, int]]:
        """Drop the shares the store holds that the chain no longer places on this node (the
        blob deleted by its owner, or the share moved to another node); at most
        `drops_per_round_max` a round. Returns them."""
        dropped: list[tuple[bytes, int]] = []
        for root, share in list(self.store.held()):
            if len(dropped) >= drops_per_round_max:
                break
            record = queries.placement(reader, root)
            if record is not None and share < record.n and record.holders[share] == self.me:
                continue
            self.store.drop(root, share)
            dropped.append((root, share))
        if dropped:
            log.info("storage shares dropped", extra={"shares": len(dropped)})
        return dropped

    def plan(self, reader: StateReader, height: int, block_hash: bytes) -> Round:
        missing: list[tuple[Target, int]] = []
        challenges: list[tuple[Target, int, int]] = []
        placed: set[tuple[bytes, int, Address]] = set()
        challenged: set[bytes] = set()
        for root, share, record in queries.shares_held(reader, self.me):
            if height < record.height + self.grace_blocks:
                continue  # a new blob: its owner is still uploading
            target = Target.of(root, record)
            if not self.store.holds(root, share):
                if len(missing) < repairs_per_round_max:
                    missing.append((target, share))
                continue
            if root in challenged:
                continue  # a second share of the blob: its holders are challenged already
            challenged.add(root)
            for other, holder in enumerate(record.holders):
                placed.add((root, other, holder))
                if holder == self.me or height < record.since[other] + self.grace_blocks:
                    continue  # its node may still be rebuilding a share just moved to it
                if len(challenges) < challenges_per_round_max:
                    stripe = challenged_stripe(block_hash, root, other, target.layout.stripes)
                    challenges.append((target, other, stripe))
        # A report stands until the share moves; forget those whose holder changed.
        self._reported &= placed
        return Round(block_hash, tuple(missing), tuple(challenges))

    async def _run(self, work: Round) -> None:
        try:
            async with http.async_client(timeout_s) as client:
                nodes = await directory(client, self.gateways)
                for target, share in work.missing:
                    await self._repair(client, nodes, target, share)
                reports: list[Message] = []
                for target, share, stripe in work.challenges:
                    if len(reports) >= reports_per_round_max:
                        break
                    if await self._challenge(client, nodes, target, share, stripe):
                        reports.append(ReportStorageFault(target.root, share))
                if reports:
                    self._submit(reports)
        finally:
            self._running = False

    async def _repair(
        self, client: httpx.AsyncClient, nodes: dict[Address, str], target: Target, share: int
    ) -> None:
        try:
            shares = await gather(client, nodes, target, skip=share)
            rebuilt = rebuild(target, shares, share)
            self.store.put_share(
                target.layout, target.root, target.coded_root, share, rebuilt.leaves, rebuilt.chunks
            )
        except StorageError as error:
            log.warning(
                "storage repair failed",
                extra={"root": target.root.hex(), "share": share, "error": str(error)},
            )
            return
        log.info("storage share rebuilt", extra={"root": target.root.hex(), "share": share})

    async def _challenge(
        self,
        client: httpx.AsyncClient,
        nodes: dict[Address, str],
        target: Target,
        share: int,
        stripe: int,
    ) -> bool:
        """Whether the share's holder failed (and is to be reported: once for each holder)."""
        holder = target.holders[share]
        if (target.root, share, holder) in self._reported:
            return False
        url = nodes.get(holder)
        failure = (
            "no gateway answers for the holder"
            if url is None
            else await challenge(client, url, target, share, stripe)
        )
        if failure is None:
            return False
        log.warning(
            "storage challenge failed",
            extra={
                "root": target.root.hex(),
                "share": share,
                "holder": str(holder),
                "error": failure,
            },
        )
        self._reported.add((target.root, share, holder))
        return True
