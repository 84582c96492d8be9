from __future__ import annotations

import hashlib

import pytest

from metanode.codec import tags
from metanode.crypto import hashing
from metanode.errors import KeyFormatError


@pytest.mark.parametrize("tag", [tags.TX, tags.BLOCK_HEADER, tags.RECEIPT])
def test_tagged_hash_is_sha256_of_tag_nul_data(tag: tags.DomainTag) -> None:
    data = b"\x00\x01payload"
    expected = hashlib.sha256(tag.name.encode("ascii") + b"\x00" + data).digest()
    assert hashing.tagged_hash(tag, data) == expected


def test_different_tags_give_different_hashes() -> None:
    digests = {hashing.tagged_hash(tag, b"same") for tag in tags.ALL}
    assert len(digests) == len(tags.ALL)


def test_blake3_key_length_is_checked() -> None:
    with pytest.raises(KeyFormatError):
        hashing.blake3_keyed_hash(b"short", b"data")
