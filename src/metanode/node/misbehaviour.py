"""A test harness that makes this node equivocate: never for a real network.

`[testing] double_prepare_heights` (config.py) names heights at which the node, after
broadcasting its honest prepare, signs and broadcasts a second prepare of the same height and
round for another digest, as CometBFT's e2e `misbehaviors = { height = "double-prevote" }`.
Its peers accept the first one they receive and record the pair as equivocation evidence
(consensus/engine.py `note_for_evidence`), which a proposer puts in a block, so the slashing and
jailing path runs on real processes. A node refuses the setting on any chain whose genesis is
not of the dev kind (`check_allowed`), so no configuration mistake can make a validator of a
public network sign twice.
"""

from __future__ import annotations

import dataclasses

from metanode.codec import tags
from metanode.consensus.suite import Suite
from metanode.crypto.hashing import tagged_hash
from metanode.errors import ConfigError
from metanode.types.vote import Kind, Signed

from .config import Testing


def check_allowed(testing: Testing, chain_kind: str) -> None:
    if testing.double_prepare_heights and chain_kind != "dev":
        raise ConfigError(
            "[testing] double_prepare_heights makes a validator equivocate (a test harness): "
            f"refused on a {chain_kind} chain, only a dev chain may set it"
        )


def double_prepare(testing: Testing, suite: Suite, signed: Signed) -> Signed | None:
    """The conflicting twin of this node's own prepare `signed`, at a harness height."""
    if signed.kind is not Kind.PREPARE or signed.height not in testing.double_prepare_heights:
        return None
    other = tagged_hash(tags.BLOCK_HEADER, b"double-prepare" + signed.digest)
    unsigned = dataclasses.replace(signed, digest=other, signature=b"")
    return dataclasses.replace(unsigned, signature=suite.sign(unsigned.signing_message()))
