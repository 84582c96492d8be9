"""Merkle trees exactly as RFC 6962 (and RFC 9162 §2.1): SHA-256, leaf hash H(0x00 ‖ d), node
hash H(0x01 ‖ left ‖ right), the split at the largest power of two below n, no duplicated odd
node, and the empty tree's root H("").

Theory: every proof here is the RFC's recursion (PATH and SUBPROOF) walked down the tree of
size n towards a target range. A consistency proof from size m to n targets [0, m); an
inclusion proof of leaf i targets [i, i+1) with the leaf hash as the known end; a subtree proof
(C2SP tlog subtrees, as transparency-dev tests them) targets an aligned range [start, end).
So one walk builds every proof and one walk verifies them: it consumes the proof hashes in the
order the prover wrote them (innermost first) and rebuilds both the target's hash and the
root. Roots are computed bottom-up (pairing each level, promoting an unpaired last node), which
gives the same tree as the RFC's top-down split without recursion over the leaves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

from metanode.errors import VerificationError

HASH_BYTES = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """The root over leaf data."""
    return root_from_leaf_hashes([leaf_hash(leaf) for leaf in leaves])


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """The root over leaf hashes the caller already holds (transaction hashes, say)."""
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    sha256 = hashlib.sha256
    while len(level) > 1:
        paired = [
            sha256(_NODE + level[index] + level[index + 1]).digest()
            for index in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def _split(size: int) -> int:
    """The largest power of two strictly below `size` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _is_subtree(start: int, end: int) -> bool:
    """[start, end) is a subtree: non-empty, and start aligned to the next power of two ≥ size."""
    if not 0 <= start < end:
        return False
    width = 1 << (end - start - 1).bit_length()
    return start % width == 0


def _prove(hashes: Sequence[bytes], start: int, end: int, known: bool) -> list[bytes]:
    """RFC 6962 SUBPROOF generalised to the target [start, end) inside `hashes`."""
    size = len(hashes)
    if (start, end) == (0, size):
        return [] if known else [root_from_leaf_hashes(hashes)]
    middle = _split(size)
    if end <= middle:
        return [*_prove(hashes[:middle], start, end, known), root_from_leaf_hashes(hashes[middle:])]
    if start >= middle:
        return [
            *_prove(hashes[middle:], start - middle, end - middle, known),
            root_from_leaf_hashes(hashes[:middle]),
        ]
    # The target spans the split: it is [0, end) and its left part is the whole left child.
    return [
        *_prove(hashes[middle:], 0, end - middle, False),
        root_from_leaf_hashes(hashes[:middle]),
    ]


def _rebuild(
    size: int, start: int, end: int, known: bytes | None, proof: Iterator[bytes]
) -> tuple[bytes, bytes]:
    """Walk as `_prove` did, consuming proof hashes; return (target hash, root hash)."""
    if (start, end) == (0, size):
        value = known if known is not None else next(proof)
        return value, value
    middle = _split(size)
    if end <= middle:
        target, left = _rebuild(middle, start, end, known, proof)
        return target, node_hash(left, next(proof))
    if start >= middle:
        target, right = _rebuild(size - middle, start - middle, end - middle, known, proof)
        return target, node_hash(next(proof), right)
    target_right, right = _rebuild(size - middle, 0, end - middle, None, proof)
    left = next(proof)
    return node_hash(left, target_right), node_hash(left, right)


def _verify(
    size: int, start: int, end: int, known: bytes | None, proof: Sequence[bytes], what: str
) -> tuple[bytes, bytes]:
    if any(not isinstance(item, bytes) or len(item) != HASH_BYTES for item in proof):
        raise VerificationError(f"{what}: every proof element must be a 32-byte hash")
    remaining = iter(proof)
    try:
        target, top = _rebuild(size, start, end, known, remaining)
    except StopIteration:
        raise VerificationError(f"{what}: the proof is too short") from None
    if next(remaining, None) is not None:
        raise VerificationError(f"{what}: the proof is too long")
    return target, top


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int) -> list[bytes]:
    if not 0 <= index < len(leaf_hashes):
        raise VerificationError(f"leaf {index} is outside a tree of {len(leaf_hashes)} leaves")
    return _prove(leaf_hashes, index, index + 1, True)


def verify_inclusion(
    leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Raise VerificationError unless `leaf` (a leaf hash) is at `index` in the tree."""
    if not 0 <= index < tree_size:
        raise VerificationError(f"leaf index {index} is outside a tree of size {tree_size}")
    if not isinstance(leaf, bytes) or len(leaf) != HASH_BYTES:
        raise VerificationError("the leaf hash must be 32 bytes")
    _, top = _verify(tree_size, index, index + 1, leaf, proof, "inclusion")
    if top != expected_root:
        raise VerificationError("inclusion proof does not lead to the expected root")


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int) -> list[bytes]:
    if not 0 < old_size <= len(leaf_hashes):
        raise VerificationError(f"no consistency proof from {old_size} to {len(leaf_hashes)}")
    return _prove(leaf_hashes, 0, old_size, True)


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise VerificationError unless the tree of `new_size` extends the one of `old_size`."""
    if not 0 <= old_size <= new_size:
        raise VerificationError(f"sizes {old_size} → {new_size} do not grow")
    if old_size == 0:
        # Every tree extends the empty one, so such a proof shows nothing; a caller asking for
        # one has a bug. Refused, as transparency-dev's verifier refuses it.
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise VerificationError("equal sizes need equal roots and an empty proof")
        return
    target, top = _verify(new_size, 0, old_size, old_root, proof, "consistency")
    if target != old_root or top != new_root:
        raise VerificationError("consistency proof does not match the two roots")


def subtree_inclusion_proof(leaf_hashes: Sequence[bytes], start: int, index: int) -> list[bytes]:
    """Inclusion of leaf `index` in the subtree [start, start + len(leaf_hashes))."""
    return inclusion_proof(leaf_hashes, index - start)


def verify_subtree_inclusion(
    leaf: bytes, index: int, start: int, end: int, proof: Sequence[bytes], subtree_root: bytes
) -> None:
    if not _is_subtree(start, end):
        raise VerificationError(f"[{start}, {end}) is not a subtree")
    if not start <= index < end:
        raise VerificationError(f"leaf {index} is outside the subtree [{start}, {end})")
    verify_inclusion(leaf, index - start, end - start, proof, subtree_root)


def subtree_consistency_proof(leaf_hashes: Sequence[bytes], start: int, end: int) -> list[bytes]:
    if not _is_subtree(start, end) or end > len(leaf_hashes):
        raise VerificationError(f"[{start}, {end}) is not a subtree of {len(leaf_hashes)} leaves")
    return _prove(leaf_hashes, start, end, True)


def verify_subtree_consistency(
    start: int, end: int, size: int, subtree_root: bytes, root_: bytes, proof: Sequence[bytes]
) -> None:
    """Raise VerificationError unless subtree [start, end) with `subtree_root` is part of the
    tree of `size` with root `root_`."""
    if start == end and 0 <= end <= size:
        # The empty subtree is in every tree; only its own root (H("")) and no proof fit it.
        if proof or subtree_root != EMPTY_ROOT:
            raise VerificationError("the empty subtree has root H('') and an empty proof")
        return
    if not _is_subtree(start, end) or end > size:
        raise VerificationError(f"[{start}, {end}) is not a subtree of a tree of size {size}")
    target, top = _verify(size, start, end, subtree_root, proof, "subtree consistency")
    if target != subtree_root or top != root_:
        raise VerificationError("subtree consistency proof does not match the two roots")
