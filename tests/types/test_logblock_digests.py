"""A LogBlock's hash and signing message from one encoding of its body
(`LogBlock.hash_and_signing_message`, what a notary's candidate takes): the same bytes as
`hash()` and `signing_message()` each encoding it, whatever the leaves, signers and aggregate."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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


@given(logblocks)
def test_one_encoding_gives_the_hash_and_the_signing_message(found: LogBlock) -> None:
    assert found.hash_and_signing_message() == (found.hash(), found.signing_message())


def test_an_unsigned_candidate_and_a_full_logblock_too() -> None:
    full = logblock(constants.logblock_leaves_max)
    unsigned = LogBlock(full.app_id, 1, 0, 0, full.root, full.leaves)
    for found in (full, unsigned):
        assert found.hash_and_signing_message() == (found.hash(), found.signing_message())
