"""A test harness that makes this node equivocate: never for a real network.

`[testing] double_prepare_heights` (config.py) names heights at which the node, after
broadcasting its honest prepare, signs and broadcasts a second prepare of the same height and
round for another digest, as CometBFT's e2e `misbehaviors = { height = "double-prevote" }`.
Its peers accept the first one they receive and record the pair as equivocation evidence
(consensus/engine.py `note_for_evidence`), which a proposer puts in a block, so the slashing and
jailing path runs on real processes. A node refuses the setting on any chain whose genesis is
not of the dev kind (`check_allowed`), so no configuration mistake can make a validator of a
public network sign twice.

`[testing] executor_lie` makes the node's executor falsify every receipt it signs
(`falsify`): a wrong output hash, or a wrong state root after a correct output, re-signed,
stored and gossiped as its own, so the notaries see its replicas disagree and the court's game
runs on real processes (tests/node/test_court_e2e.py). Refused off dev chains alike.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from metanode.codec import tags
from metanode.consensus.suite import Suite
from metanode.crypto import ed25519
from metanode.crypto.hashing import blake3_hash, tagged_hash
from metanode.docklock.receipt import Bundle
from metanode.errors import ConfigError
from metanode.types.vote import Kind, Signed

from .config import Testing


def check_allowed(testing: Testing, chain_kind: str) -> None:
    harnesses = [
        ("double_prepare_heights", "makes a validator equivocate", testing.double_prepare_heights),
        ("executor_lie", "makes an executor sign false receipts", testing.executor_lie),
    ]
    for name, effect, value in harnesses:
        if value and chain_kind != "dev":
            raise ConfigError(
                f"[testing] {name} {effect} (a test harness): "
                f"refused on a {chain_kind} chain, only a dev chain may set it"
            )


def falsify(lie: str, key: ed25519.PrivateKey, bundle: Bundle) -> Bundle:
    """The bundle with its receipt falsified as `lie` says, and signed again by `key`."""
    receipt = bundle.receipt
    if lie == "output":
        receipt = dataclasses.replace(receipt, output_hash=blake3_hash(b"lie" + bundle.output))
    else:
        wrong = blake3_hash(b"lie" + receipt.state_root_after)
        receipt = dataclasses.replace(receipt, state_root_after=wrong)
    signed = dataclasses.replace(receipt, signature=key.sign(receipt.signing_message()))
    return dataclasses.replace(bundle, receipt=signed)


def double_prepare(testing: Testing, suite: Suite, signed: Signed) -> Signed | None:
    """The conflicting twin of this node's own prepare `signed`, at a harness height."""
    if signed.kind is not Kind.PREPARE or signed.height not in testing.double_prepare_heights:
        return None
    other = tagged_hash(tags.BLOCK_HEADER, b"double-prepare" + signed.digest)
    unsigned = dataclasses.replace(signed, digest=other, signature=b"")
    return dataclasses.replace(unsigned, signature=suite.sign(unsigned.signing_message()))


def lying_executor(testing: Testing, key: ed25519.PrivateKey) -> Callable[[Bundle], Bundle] | None:
    """The executor's receipt hook for `[testing] executor_lie`, None when it is not set."""
    if not testing.executor_lie:
        return None
    return functools.partial(falsify, testing.executor_lie, key)
