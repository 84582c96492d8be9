"""A LogBlock's hash, signing message and wire encoding from one encoding of its body
(`LogBlock.hash_and_signing_message`, what a notary's candidate takes, and
`signing_message_and_wire`, what the chain checks and stores): the same bytes as `hash()` and
`signing_message()` each encoding it, and as the codec's encoding, whatever the leaves, signers
and aggregate (the LogBlock encodes without the codec's hooks)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from metanode.codec import encode, tags
from metanode.crypto.hashing import tagged_hash
from metanode.types import LogBlock, LogLeaf, constants
from tests.types.test_logblock_bounds import logblock

digests = st.binary(min_size=32, max_size=32)
uints = st.integers(min_value=0, max_value=constants.uint64_max)
leaves = st.builds(
    LogLeaf, digests, digests, uints, digests, digests, uints, uints, uints, uints, uints,
    st.sampled_from([b"", bytes(range(32))]),
)  # fmt: skip
logblocks = st.builds(
    LogBlock,
    digests,
    uints,
    uints,
    uints,
    digests,
    st.lists(leaves, max_size=20).map(tuple),
    st.binary(max_size=constants.notary_committee_max // 8),
    st.binary(min_size=constants.bls_signature_bytes, max_size=constants.bls_signature_bytes),
)


def same_as_the_codecs(found: LogBlock) -> None:
    message = tags.LOGBLOCK.name_bytes + b"\x00" + encode(found.body())
    wire = encode(found.to_wire())
    assert found.signing_message() == message
    assert found.hash() == tagged_hash(tags.LOGBLOCK, wire)
    assert found.signing_message_and_wire() == (message, wire)
    assert found.hash_and_signing_message() == (found.hash(), message)


@given(logblocks)
def test_one_encoding_gives_the_hash_and_the_signing_message(found: LogBlock) -> None:
    same_as_the_codecs(found)


def test_an_unsigned_candidate_and_a_full_logblock_too() -> None:
    full = logblock(constants.logblock_leaves_max)
    unsigned = LogBlock(full.app_id, 1, 0, 0, full.root, full.leaves)
    for found in (full, unsigned):
        same_as_the_codecs(found)
