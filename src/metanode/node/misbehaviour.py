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
(`falsify`), re-signed, stored and gossiped as its own, so the notaries see its replicas
disagree and the court's game runs on real processes (tests/node/test_court_e2e.py):
"output", a wrong output hash; "state_root", a wrong state root after a correct output;
"dropped_write", the root of the state the call left without its last write; "forged_read",
the call run again on a forged stored value (its witness records the forged read) while the
receipt names the true state before; "copied", the result of the app's call before (root,
output, witness, fuel) signed as this call's. The copy keeps this call's seed, time, input and
state before: a receipt copied whole names another call's seed, which the notaries refuse
before any LogBlock (node/hosting.py `seed_not_the_calls`). Refused off dev chains alike.

`[testing] silent_executor` keeps the node's receipts from the notaries (not gossiped, not
served): a replica left out of the LogBlock, for `[court] watch` to challenge what the
notaries took without it (tests/node/test_court_e2e.py). Refused off dev chains alike.

`[testing] censor` names senders whose transactions the node's proposals leave out
(`censored`), however long they wait: the censoring proposer the inclusion lists catch
(node/inclusion.py, tests/node/test_inclusion_e2e.py). Refused off dev chains alike.

`[testing] withhold_gossip` keeps the node's clients' transactions from its peers until they
appear, by hash, in its own compact proposals: the peers must fetch them (`GET_TXS`,
node/compact.py, tests/node/test_network.py). Refused off dev chains alike.
"""

from __future__ import annotations

import dataclasses

from metanode.codec import tags
from metanode.consensus.suite import Suite
from metanode.crypto import ed25519
from metanode.crypto.hashing import blake3_hash, tagged_hash
from metanode.docklock.appstate import state_root
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Bundle
from metanode.errors import ConfigError
from metanode.types import Address
from metanode.types.vote import Kind, Signed

from .config import Testing

_WRITES = ("state_set", "state_delete")
# What a receipt says its run did, which "copied" takes from another call's.
_RUN_FIELDS = (
    "state_root_after", "fuel_used", "peak_memory_bytes", "witness_root", "witness_length",
    "outcome", "output_hash",
)  # fmt: skip


def check_allowed(testing: Testing, chain_kind: str) -> None:
    harnesses = [
        ("double_prepare_heights", "makes a validator equivocate", testing.double_prepare_heights),
        ("executor_lie", "makes an executor sign false receipts", testing.executor_lie),
        ("censor", "makes a proposer censor transactions", testing.censor),
        ("silent_executor", "hides an executor's receipts", testing.silent_executor),
        (
            "withhold_gossip",
            "hides a node's transactions until it proposes",
            testing.withhold_gossip,
        ),
    ]
    for name, effect, value in harnesses:
        if value and chain_kind != "dev":
            raise ConfigError(
                f"[testing] {name} {effect} (a test harness): "
                f"refused on a {chain_kind} chain, only a dev chain may set it"
            )


def censored(testing: Testing) -> frozenset[Address]:
    """The senders this node's proposals leave out (none but under the harness)."""
    return frozenset(Address.parse(sender) for sender in testing.censor)


def falsify(
    lie: str, key: ed25519.PrivateKey, bundle: Bundle, earlier: Bundle | None = None
) -> Bundle:
    """The bundle with its receipt falsified as `lie` says, and signed again by `key`;
    `earlier` is the app's call before, which "copied" copies (the first call is left true)."""
    receipt = bundle.receipt
    if lie == "copied":
        if earlier is None:
            return bundle
        copied = {name: getattr(earlier.receipt, name) for name in _RUN_FIELDS}
        receipt = dataclasses.replace(receipt, **copied)
        bundle = dataclasses.replace(bundle, witness=earlier.witness, output=earlier.output)
    elif lie == "output":
        receipt = dataclasses.replace(receipt, output_hash=blake3_hash(b"lie" + bundle.output))
    elif lie == "state_root":
        wrong = blake3_hash(b"lie" + receipt.state_root_after)
        receipt = dataclasses.replace(receipt, state_root_after=wrong)
    elif lie == "dropped_write":
        receipt = dataclasses.replace(receipt, state_root_after=_without_last_write(bundle))
    else:
        bundle = _forged_read(key, bundle)
        receipt = dataclasses.replace(bundle.receipt, state_root_before=receipt.state_root_before)
    signed = dataclasses.replace(receipt, signature=key.sign(receipt.signing_message()))
    return dataclasses.replace(bundle, receipt=signed)


def _without_last_write(bundle: Bundle) -> bytes:
    """The root of the state the call left, had its last write been dropped (the true root
    for a call that writes nothing: there is nothing to drop)."""
    writes = [record for record in bundle.witness if record.call in _WRITES]
    state = dict(bundle.state_before)
    for record in writes[:-1]:
        match record.arguments:
            case (bytes() as stored_key, bytes() as value):
                state[stored_key] = value
            case (bytes() as stored_key,):
                state.pop(stored_key, None)
    return state_root(state)


def _forged_read(key: ed25519.PrivateKey, bundle: Bundle) -> Bundle:
    """The call run again with the key of its first read holding a forged value (8 bytes, the
    width of a counter), so its witness, output and end state follow from a value never
    stored; the state before is the true one."""
    reads = [record.arguments[0] for record in bundle.witness if record.call == "state_get"]
    if not reads or not isinstance(reads[0], bytes):
        return bundle  # a call that reads nothing cannot be lied about this way
    receipt = bundle.receipt
    forged = {**bundle.state_before, reads[0]: (99).to_bytes(8, "little")}
    run, _after = execute(
        bundle.module,
        receipt.function,
        bundle.input,
        forged,
        key,
        block_time=receipt.block_time,
        seed=receipt.seed,
        previous=receipt.previous,
    )
    return dataclasses.replace(run, state_before=bundle.state_before)


def double_prepare(testing: Testing, suite: Suite, signed: Signed) -> Signed | None:
    """The conflicting twin of this node's own prepare `signed`, at a harness height."""
    if signed.kind is not Kind.PREPARE or signed.height not in testing.double_prepare_heights:
        return None
    other = tagged_hash(tags.BLOCK_HEADER, b"double-prepare" + signed.digest)
    unsigned = dataclasses.replace(signed, digest=other, signature=b"")
    return dataclasses.replace(unsigned, signature=suite.sign(unsigned.signing_message()))


class Liar:
    """The executor's receipt hook: each bundle falsified, with the app's true bundle before
    it at hand for "copied"."""

    def __init__(self, lie: str, key: ed25519.PrivateKey) -> None:
        self.lie = lie
        self.key = key
        self._earlier: dict[bytes, Bundle] = {}

    def __call__(self, bundle: Bundle) -> Bundle:
        app_id = bundle.receipt.app_id
        falsified = falsify(self.lie, self.key, bundle, self._earlier.get(app_id))
        self._earlier[app_id] = bundle
        return falsified


def lying_executor(testing: Testing, key: ed25519.PrivateKey) -> Liar | None:
    """The executor's receipt hook for `[testing] executor_lie`, None when it is not set."""
    if not testing.executor_lie:
        return None
    return Liar(testing.executor_lie, key)
