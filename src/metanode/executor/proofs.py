"""Read proofs: a key's value, or its absence, proven against an app's state root.

The root is the receipt's (`metanode.docklock.receipt.state_root`): the RFC 6962 root over the
leaves CBOR `[key, value]`, in bytewise key order. A proof of presence is the key's leaf with
its inclusion path. A proof of absence is the leaves on either side of where the key would sit,
each with its path, at adjacent indices (or the first leaf alone when the key sorts before it,
the last alone when it sorts after, and no leaf when the tree is empty): since the leaves are
sorted, nothing lies between two adjacent leaves. Paths are checked by `crypto.merkle`'s
verifier, so this module adds only the ordering argument on top of RFC 6962.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.codec import encode
from metanode.crypto import merkle
from metanode.errors import VerificationError


@dataclass(frozen=True, slots=True)
class Leaf:
    key: bytes
    value: bytes
    index: int
    path: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class ReadProof:
    """`leaves`: the key's own leaf if present; else zero, one or two neighbours."""

    key: bytes
    tree_size: int
    leaves: tuple[Leaf, ...]

    @property
    def claimed(self) -> bytes | None:
        """The value the proof claims for its key (None: absent); `verify_read` checks it."""
        leaves = self.leaves
        return leaves[0].value if len(leaves) == 1 and leaves[0].key == self.key else None


def _leaf_data(key: bytes, value: bytes) -> bytes:
    return encode([key, value])


def prove(state: dict[bytes, bytes], key: bytes) -> ReadProof:
    keys = sorted(state)
    hashes = [merkle.leaf_hash(_leaf_data(item, state[item])) for item in keys]

    def leaf(index: int) -> Leaf:
        path = tuple(merkle.inclusion_proof(hashes, index))
        return Leaf(keys[index], state[keys[index]], index, path)

    if key in state:
        return ReadProof(key, len(keys), (leaf(keys.index(key)),))
    after = _first_above(keys, key)
    neighbours = [index for index in (after - 1, after) if 0 <= index < len(keys)]
    return ReadProof(key, len(keys), tuple(leaf(index) for index in neighbours))


def _first_above(keys: list[bytes], key: bytes) -> int:
    low, high = 0, len(keys)
    while low < high:
        middle = (low + high) // 2
        if keys[middle] < key:
            low = middle + 1
        else:
            high = middle
    return low


def verify_read(root: bytes, proof: ReadProof) -> bytes | None:
    """The proven value (None: proven absent); VerificationError if the proof does not hold."""
    for leaf in proof.leaves:
        merkle.verify_inclusion(
            merkle.leaf_hash(_leaf_data(leaf.key, leaf.value)),
            leaf.index,
            proof.tree_size,
            leaf.path,
            root,
        )
    size, leaves = proof.tree_size, proof.leaves
    if proof.claimed is not None:
        return proof.claimed
    if not leaves:
        if size != 0:
            raise VerificationError("an absence proof in a non-empty tree needs a neighbour")
        if root != merkle.EMPTY_ROOT:
            raise VerificationError("the empty tree's root is H(''), not this root")
        return None
    if len(leaves) == 1:
        (only,) = leaves
        before_first = only.index == 0 and proof.key < only.key
        after_last = only.index == size - 1 and only.key < proof.key
        if not (before_first or after_last):
            raise VerificationError("one neighbour proves absence only at either end")
        return None
    if len(leaves) == 2:
        below, above = leaves
        if above.index != below.index + 1 or not below.key < proof.key < above.key:
            raise VerificationError("the neighbours are not adjacent leaves around the key")
        return None
    raise VerificationError("a read proof holds at most two leaves")
