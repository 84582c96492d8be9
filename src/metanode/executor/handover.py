"""An app's state handed over in pages (docs/executor.md "Hand-over and catching up").

Rules: pure, no I/O. The sender cuts the state into pages of at most `page_bytes_max` bytes
(entries and proof), in the order of the state tree: by the hash of each entry's tree key
(`docklock.appstate.entry_key`). Each page carries its entries, the state's entry count and a
multiproof (`state.multiproof`) of both under the state root that the sender's receipt of the
call names. The receiver checks each page as it arrives against that root, so a bad page is
refused by its number before the rest is read. The state is whole once the entries of the
pages, each strictly after the one before in tree order (so none is counted twice), number
the proven count; its tree is then built over all of it once more and its root checked, as
before paging, and the state is handed to the executor with that tree (`LiveState`), which
it keeps: the tree is built once on the receiving side.

Why tree order and not key order: a page is then a contiguous part of the tree, whose proof
opens the nodes above its entries and two boundary paths; in key order the entries are
scattered over the tree and each one's path would be opened on its own (about 600 bytes of
proof per entry at 100,000 entries, against about 100).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from metanode.docklock import constants as cage
from metanode.docklock.appstate import COUNT_KEY, count_value, entry_key, state_nodes
from metanode.docklock.live import LiveState
from metanode.errors import VerificationError, check
from metanode.state import multiproof, tree
from metanode.state.multiproof import Incomplete

# A CBOR pair [key, value]: the array's head and two byte strings' heads (lengths < 2**32).
_PAIR_HEAD_BYTES_MAX = 1 + 5 + 5
# Every page holds an entry, but the empty state's one page.
pages_max = cage.state_entries_max


@dataclass(frozen=True, slots=True)
class Page:
    index: int  # 0-based
    pages: int  # how many the state is cut into
    count: int  # the state's entries
    pairs: tuple[tuple[bytes, bytes], ...]  # in tree order
    proof: bytes  # multiproof of the pairs' keys and the count, under the receipt's root


class PageRefused(VerificationError):
    """A page that does not continue the state its receipt's root names: `index` is its
    number, `reason` a stable identifier."""

    def __init__(self, index: int, reason: str, message: str) -> None:
        super().__init__(f"app state page {index}: {message}")
        self.index = index
        self.reason = reason


def position(key: bytes) -> bytes:
    """The entry's place in tree order."""
    return tree.key_hash(entry_key(key))


def paginate(
    state: Mapping[bytes, bytes], page_bytes_max: int, kept: LiveState | None = None
) -> list[Page]:
    """The state's pages, each at most `page_bytes_max` bytes of pairs and proof; the empty
    state is one page with no pairs. `kept`: the state's tree as its executor holds it (the
    same state), so that it is not built again."""
    nodes, root = state_nodes(state) if kept is None else (kept.nodes, kept.root)
    ordered = sorted(state.items(), key=lambda pair: position(pair[0]))
    bodies: list[tuple[Sequence[tuple[bytes, bytes]], bytes]] = []
    group: list[tuple[bytes, bytes]] = []
    size = 0
    for pair in ordered:
        item = _pair_bytes(pair)
        if group and size + item > page_bytes_max:
            bodies += _fit(nodes, root, group, page_bytes_max)
            group, size = [], 0
        group.append(pair)
        size += item
    bodies += _fit(nodes, root, group, page_bytes_max)
    check(len(bodies) <= pages_max, "a state within the cage's limits needs more pages than that")
    return [
        Page(index, len(bodies), len(state), tuple(pairs), proof)
        for index, (pairs, proof) in enumerate(bodies)
    ]


def _pair_bytes(pair: tuple[bytes, bytes]) -> int:
    return len(pair[0]) + len(pair[1]) + _PAIR_HEAD_BYTES_MAX


def _fit(
    nodes: tree.MemoryNodes,
    root: bytes,
    pairs: Sequence[tuple[bytes, bytes]],
    page_bytes_max: int,
) -> list[tuple[Sequence[tuple[bytes, bytes]], bytes]]:
    """`pairs` with their proof, halved until each half's pairs and proof fit a page."""
    proof = multiproof.expand(nodes, root, [entry_key(key) for key, _ in pairs] + [COUNT_KEY])
    if sum(map(_pair_bytes, pairs)) + len(proof) <= page_bytes_max:
        return [(pairs, proof)]
    check(len(pairs) > 1, "one entry and its proof do not fit an app state page")
    half = len(pairs) // 2
    return _fit(nodes, root, pairs[:half], page_bytes_max) + _fit(
        nodes, root, pairs[half:], page_bytes_max
    )


class Assembly:
    """The pages of one state, taken in order and each checked against `root`."""

    def __init__(self, root: bytes, first: Page) -> None:
        """`first`: page 0, which fixes the number of pages and the count (checked by `add`)."""
        if not 1 <= first.pages <= pages_max:
            raise PageRefused(first.index, "page_count_out_of_range", f"{first.pages} pages")
        if first.count > cage.state_entries_max:
            raise PageRefused(first.index, "count_out_of_range", f"{first.count} entries")
        self.root = root
        self.pages = first.pages
        self.count = first.count
        self.state: dict[bytes, bytes] = {}
        self.next = 0
        self._last: bytes | None = None  # the position of the last entry taken

    def add(self, page: Page) -> LiveState | None:
        """Take the next page; the whole state and its tree after the last one. PageRefused
        names a page that is not the next, does not prove its entries and the count under the
        root, or leaves the state short of or past its count."""
        index = page.index
        if index != self.next:
            raise PageRefused(index, "page_out_of_order", f"page {self.next} was expected")
        if (page.pages, page.count) != (self.pages, self.count):
            raise PageRefused(index, "page_count_changed", "it names another state's pages")
        try:
            proof = multiproof.Proof.check(self.root, page.proof)
            counted = proof.read(COUNT_KEY)
        except (VerificationError, Incomplete) as error:
            raise PageRefused(index, "page_proof_invalid", str(error)) from None
        if counted != tree.value_hash(count_value(self.count)):
            raise PageRefused(index, "page_count_not_proven", "the count is not the root's")
        if len(self.state) + len(page.pairs) > self.count:
            raise PageRefused(index, "page_past_count", f"more than {self.count} entries")
        for key, value in page.pairs:
            self._take(index, proof, key, value)
        self.next += 1
        if self.next < self.pages:
            return None
        if len(self.state) != self.count:
            raise PageRefused(index, "pages_short_of_count", f"{len(self.state)} entries")
        live = LiveState(self.state)
        if live.root != self.root:
            raise PageRefused(index, "state_wrong_root", "the state's root is not the receipt's")
        return live

    def _take(self, index: int, proof: multiproof.Proof, key: bytes, value: bytes) -> None:
        if len(key) > cage.key_bytes_max or len(value) > cage.value_bytes_max:
            raise PageRefused(index, "entry_too_large", f"key {key.hex()[:32]} is past the cage's")
        place = position(key)
        if self._last is not None and place <= self._last:
            raise PageRefused(index, "page_out_of_order", "entries must ascend in tree order")
        try:
            shown = proof.read(entry_key(key))
        except Incomplete as error:
            raise PageRefused(index, "page_proof_invalid", str(error)) from None
        if shown != tree.value_hash(value):
            raise PageRefused(index, "entry_not_proven", f"key {key.hex()[:32]} is not the root's")
        self._last = place
        self.state[key] = value
