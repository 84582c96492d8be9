"""An app's state root, and the app state a court replays from proofs.

The root (`state_root`, a receipt's `state_root_before` and `state_root_after`) is the root of
the chain's own state tree (`metanode.state.tree`, a sparse Merkle tree of radix 16 with
inclusion and non-inclusion proofs) over the app's entries, each under 0x00 ‖ its key, and its
number of entries under the one key 0x01 (8 bytes, big-endian, zero included). The count is in
the root because the cage refuses an insert into a full state (`state_full`): a replay that
knows only some keys must still know how many there are. Being always there, it also keeps
every app state root, the empty state's (`EMPTY_ROOT`) too, from being the empty tree's 32
zero bytes, which the court reads as "no root posted".

Unlike an RFC 6962 root over sorted leaves, where an insert shifts every later leaf, a write
here changes only its key's path, so a few keys' proofs (`metanode.state.multiproof`) give
the root after writing them. `ProvenState` is that: the state a court replays a call on, known
at the keys a proof opens and nowhere else (any other key raises `Unproven`), whose root
after the call comes from the proof alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from metanode.codec import decode, encode
from metanode.errors import DecodeError, InvariantViolation, VerificationError
from metanode.state import multiproof, tree
from metanode.state.multiproof import Incomplete
from metanode.state.tree import _DEPTH_MAX

_ENTRY = b"\x00"
COUNT_KEY = b"\x01"
_COUNT_BYTES = 8


def entry_key(key: bytes) -> bytes:
    return _ENTRY + key


def count_value(count: int) -> bytes:
    return count.to_bytes(_COUNT_BYTES, "big")


def _tree_items(state: Mapping[bytes, bytes]) -> list[tuple[bytes, bytes | None]]:
    items: list[tuple[bytes, bytes | None]] = [(entry_key(k), v) for k, v in state.items()]
    items.append((COUNT_KEY, count_value(len(state))))
    return items


def state_nodes(state: Mapping[bytes, bytes]) -> tuple[tree.MemoryNodes, bytes]:
    nodes = tree.MemoryNodes()
    built = tree.update(nodes, None, 0, _tree_items(state))
    nodes.apply(built)
    return nodes, built.root


def state_root(state: AppState) -> bytes:
    if isinstance(state, ProvenState):
        return state.root()
    return tree.update(tree.MemoryNodes(), None, 0, _tree_items(state)).root


def prove_read(state: Mapping[bytes, bytes], key: bytes) -> bytes:
    """`key`'s proof (`tree.prove`) under the state's root; `verify_read` checks it."""
    nodes, root = state_nodes(state)
    return tree.prove(nodes, root, entry_key(key))


def verify_read(root: bytes, key: bytes, value: bytes | None, proof: bytes) -> None:
    """Raise VerificationError unless `proof` shows `key` = `value` (None: absent) under the
    app state root `root`."""
    tree.verify_proof(root, entry_key(key), value, proof)


# --- the state a court replays ---------------------------------------------------------------


class ReadsError(VerificationError):
    """State evidence that proves nothing: `reason` is `malformed`, `root` or `value`."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Unproven(Exception):
    """The run touched a key the proof does not show: the call cannot be judged from it."""

    def __init__(self, key: bytes) -> None:
        super().__init__(f"the proof does not show key {key.hex()}")
        self.key = key


def prove_keys(state: Mapping[bytes, bytes], keys: Iterable[bytes]) -> bytes:
    """Evidence for `ProvenState.check`: `keys`' values (or absence) in `state` with one
    multiproof of them and the count, opening whatever a delete of them needs. CBOR
    `[[[key, value or null], …], count, proof]`."""
    nodes, root = state_nodes(state)
    wanted = sorted(set(keys))
    tree_keys = [entry_key(key) for key in wanted] + [COUNT_KEY]
    paths: list[bytes] = []
    # Each round opens one more node on the keys' paths, so there are at most that many.
    for _round in range(len(tree_keys) * _DEPTH_MAX + 1):
        proof = multiproof.expand(nodes, root, tree_keys, paths)
        try:
            # Deleting every key opens all that any writes to them can need: a put changes only
            # its own path, a delete may also need the kind of a child left alone.
            multiproof.Proof.check(root, proof).apply(dict.fromkeys(tree_keys))
        except Incomplete as needed:
            paths.append(needed.path)
            continue
        pairs = [[key, state.get(key)] for key in wanted]
        return encode([pairs, len(state), proof])
    raise InvariantViolation("a multiproof kept needing more nodes opened than its paths hold")


class ProvenState:
    """An app's state known at some keys only: the host's state in a court's replay. A copy
    shares the record of the keys it was asked for (`touched`), so a prover learns which keys
    a run needs by running it on `ProvenState.whole(state)`."""

    def __init__(
        self,
        known: dict[bytes, bytes | None],
        count: int,
        proof: multiproof.Proof | None,
        touched: set[bytes],
    ) -> None:
        self._initial = dict(known)
        self._known = dict(known)
        self._count = count
        self._initial_count = count
        self._proof = proof
        self.touched = touched

    @classmethod
    def whole(cls, state: Mapping[bytes, bytes]) -> ProvenState:
        """All of `state`, known at every key (its root is computed whole)."""
        return cls(dict(state), len(state), None, set())

    @classmethod
    def check(cls, root: bytes, evidence: bytes) -> ProvenState:
        """The state `prove_keys` evidence shows under `root`; ReadsError if it is malformed
        (`malformed`), its proof does not lead to `root` (`root`), or a listed value or the
        count is not the proof's (`value`); Incomplete if the proof does not show a key."""
        try:
            pairs, count, data = _fields(decode(evidence))
            node = multiproof.parse(data)
        except (DecodeError, VerificationError) as error:
            raise ReadsError("malformed", f"malformed state evidence: {error}") from None
        proof = multiproof.Proof(node)
        if multiproof.node_hash(node) != root:
            raise ReadsError("root", "the multiproof does not lead to the agreed root")
        known: dict[bytes, bytes | None] = {}
        for key, value in pairs:
            if key in known:
                raise ReadsError("value", f"key {key.hex()} is listed twice")
            shown = proof.read(entry_key(key))
            if shown != (None if value is None else tree.value_hash(value)):
                raise ReadsError("value", f"key {key.hex()}'s value is not the proof's")
            known[key] = value
        if proof.read(COUNT_KEY) != tree.value_hash(count_value(count)):
            raise ReadsError("value", "the entry count is not the proof's")
        return cls(known, count, proof, set())

    def copy(self) -> ProvenState:
        copied = ProvenState(self._known, self._count, self._proof, self.touched)
        copied._initial, copied._initial_count = self._initial, self._initial_count
        return copied

    def _value(self, key: bytes) -> bytes | None:
        self.touched.add(key)
        if key in self._known:
            return self._known[key]
        if self._proof is None:
            return None  # the whole state: a key it does not hold is absent
        raise Unproven(key)

    def get(self, key: bytes) -> bytes | None:
        return self._value(key)

    def __contains__(self, key: bytes) -> bool:
        return self._value(key) is not None

    def __len__(self) -> int:
        return self._count

    def __setitem__(self, key: bytes, value: bytes) -> None:
        if self._value(key) is None:
            self._count += 1
        self._known[key] = value

    def pop(self, key: bytes, default: None = None) -> bytes | None:
        value = self._value(key)
        if value is not None:
            self._count -= 1
            self._known[key] = None
        return value

    def root(self) -> bytes:
        if self._proof is None:
            return state_root({k: v for k, v in self._known.items() if v is not None})
        writes: dict[bytes, bytes | None] = {
            entry_key(key): value
            for key, value in self._known.items()
            if value != self._initial.get(key)
        }
        if self._count != self._initial_count:
            writes[COUNT_KEY] = count_value(self._count)
        return self._proof.apply(writes)


def _fields(value: Any) -> tuple[list[tuple[bytes, bytes | None]], int, bytes]:
    if not isinstance(value, tuple) or len(value) != 3:
        raise VerificationError("state evidence is [pairs, count, proof]")
    pairs, count, data = value
    if not isinstance(pairs, tuple) or not isinstance(count, int) or not isinstance(data, bytes):
        raise VerificationError("state evidence is [pairs, count, proof]")
    if isinstance(count, bool) or not 0 <= count < 2 ** (8 * _COUNT_BYTES):
        raise VerificationError("the entry count is an unsigned 64-bit integer")
    checked = []
    for pair in pairs:
        if (
            not isinstance(pair, tuple)
            or len(pair) != 2
            or not isinstance(pair[0], bytes)
            or not (pair[1] is None or isinstance(pair[1], bytes))
        ):
            raise VerificationError("a state evidence pair is [key, value or null]")
        checked.append((pair[0], pair[1]))
    return checked, count, data


# What the cage runs a call on: the whole state, or a court's proven part of it.
AppState = dict[bytes, bytes] | ProvenState

# The root before an app's first call.
EMPTY_ROOT = state_root({})
