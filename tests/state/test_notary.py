"""notary: LogBlocks through real blocks (build, apply, commit, invariants after each), the
guard ladder's codes and their order, disputes, receipt inclusion proofs, and the PoE mint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import nacl.signing
import pytest

from metanode.codec import decode, encode, tags
from metanode.crypto import bls, merkle
from metanode.crypto.hashing import blake3_hash
from metanode.docklock.cage import wat_to_wasm
from metanode.docklock.receipt import Receipt, Request
from metanode.state.apps import keys as apps_keys
from metanode.state.apps import queries as apps_queries
from metanode.state.apps.assignment import assigned
from metanode.state.apps.rules import ESCROW
from metanode.state.bank import queries as bank_queries
from metanode.state.billing import keys as billing_keys
from metanode.state.codes import OK
from metanode.state.notary import errors, keys, queries
from metanode.state.notary.committee import notary_committee
from metanode.state.notary.records import ExecutorTip
from metanode.state.notary.rules import store_logblock
from metanode.state.poe.formula import reward_base_units, usage_of
from metanode.state.poe.params import DEFAULT as POE
from metanode.state.values import encode_value
from metanode.state.view import MemoryReader, Overlay
from metanode.types import (
    Address,
    CallApp,
    Denom,
    DeployApp,
    LogBlock,
    LogLeaf,
    SubmitLogBlock,
    UpgradeApp,
    UpgradeStoredApp,
)
from metanode.types.messages import Message
from tests.conftest import load_vectors
from tests.state.support import Chain, Wallet, _bls_key, make_genesis, seed, validator_wallet
from tests.state.test_storage import place_message

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COUNTER = wat_to_wasm((EXAMPLES / "counter.wat").read_text())
APP = blake3_hash(COUNTER)
VALIDATORS = 4
CALLS = 6
FUEL_LIMIT = 3_000_000
FUEL_PRICE = 7
OWNER = Wallet.of(1)
CALLER = Wallet.of(2)
SUBMITTER = Wallet.of(0)
# A second version of the counter: another module, so another hash.
COUNTER_V2 = wat_to_wasm('(module (memory (export "memory") 1) (func (export "increment")))')


def deploy_and_call(chain: Chain, calls: int = CALLS, *, nonce: int = 0) -> None:
    """Deploy the counter with two replicas, then make `calls` calls in one block (one epoch:
    one executor draw for all of them)."""
    if nonce == 0:
        deploy = DeployApp(COUNTER, 2, FUEL_PRICE, FUEL_LIMIT)
        assert chain.run([OWNER.tx(0, deploy)]).receipts[0].code == OK
    made = [
        CALLER.tx(nonce + index, CallApp(APP, 0, "increment", b"", FUEL_LIMIT))
        for index in range(calls)
    ]
    assert [receipt.code for receipt in chain.run(made).receipts] == [OK] * calls


def drawn_keys(chain: Chain, seq: int) -> list[nacl.signing.SigningKey]:
    """The signing keys of the validators drawn to execute call `seq` (the draw stands in
    validators while the registry has no executors), in draw order."""
    call = apps_queries.call(chain.state.reader, APP, seq)
    assert call is not None
    drawn = assigned(chain.state.reader, APP, call.epoch)
    assert drawn is not None and len(drawn) == 2
    wallets = {validator_wallet(index).address: validator_wallet(index) for index in range(4)}
    return [wallets[address].key for address in drawn]


def receipt(
    key: nacl.signing.SigningKey,
    call: int,
    previous: bytes,
    *,
    output: bytes = b"out",
    trapped: bool = False,
    request: Request | None = None,
) -> Receipt:
    """A call that trapped burned its whole fuel limit; with `request`, split-origin."""
    unsigned = Receipt(
        app_id=APP,
        function="increment",
        input_hash=seed("input", call),
        state_root_before=seed("root", call),
        state_root_after=seed("root", call + 1, output),
        fuel_used=FUEL_LIMIT if trapped else 2_000_000 + call,
        peak_memory_bytes=1_048_576,
        witness_root=seed("witness", call),
        witness_length=3,
        outcome="trap:unreachable" if trapped else "ok",
        output_hash=seed("output", output),
        block_time=1_000_000 + 1_000 * call,
        seed=seed("vrf", call),
        executor=bytes(key.verify_key),
        previous=previous,
        request=request,
    )
    signature = key.sign(unsigned.signing_message()).signature
    return replace(unsigned, signature=signature)


class Replicas:
    """The executors drawn for the app's calls (or `keys`), running them in order, each
    chaining its own receipts."""

    def __init__(
        self, chain: Chain | None = None, keys: list[nacl.signing.SigningKey] | None = None
    ) -> None:
        self.keys = drawn_keys(chain, 0) if chain is not None else list(keys or ())
        self.last = [bytes(32) for _key in self.keys]

    def key(self, index: int) -> bytes:
        return bytes(self.keys[index].verify_key)

    def leaves(
        self,
        first: int,
        last: int,
        *,
        diverge_at: int | None = None,
        silent: tuple[tuple[int, int], ...] = (),
        trap_at: int | None = None,
        requests: Mapping[int, Request] | None = None,
    ) -> list[LogLeaf]:
        """Both replicas' leaves of calls first..last, but none of (call, executor) in
        `silent`; split-origin for the calls `requests` names."""
        made = []
        for call in range(first, last + 1):
            for executor in range(len(self.keys)):
                if (call, executor) in silent:
                    continue
                output = b"other" if (call, executor) == (diverge_at, 1) else b"out"
                made_receipt = receipt(
                    self.keys[executor],
                    call,
                    self.last[executor],
                    output=output,
                    trapped=call == trap_at,
                    request=(requests or {}).get(call),
                )
                self.last[executor] = made_receipt.hash()
                made.append(made_receipt.leaf(call, 100_000, 2_000_000 + 10 * call))
        return sorted(made, key=lambda leaf: leaf.order)


def sign(logblock: LogBlock, chain: Chain, signers: list[int]) -> LogBlock:
    """The aggregate of the committee members `signers` (indexes into the committee)."""
    committee = notary_committee(chain.state.reader)
    by_address = {validator_wallet(index).address: index for index in range(VALIDATORS)}
    bitmap = bytearray((len(committee) + 7) // 8)
    signatures = []
    for member in signers:
        bitmap[member // 8] |= 1 << (member % 8)
        secret = _bls_key(by_address[committee[member].address])
        signatures.append(secret.sign(logblock.signing_message()))
    return replace(logblock, signers=bytes(bitmap), aggregate=bls.aggregate_signatures(signatures))


def logblock_of(chain: Chain, leaves: list[LogLeaf], first: int, last: int) -> LogBlock:
    root = merkle.root_from_leaf_hashes([leaf.receipt_hash for leaf in leaves])
    unsigned = LogBlock(APP, 1, first, last, root, tuple(leaves))
    return sign(unsigned, chain, [0, 1, 2])


class Submitter:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.nonce = 0

    def submit(self, logblock: LogBlock) -> int:
        tx = SUBMITTER.tx(self.nonce, SubmitLogBlock(logblock))
        self.nonce += 1
        return self.chain.run([tx]).receipts[0].code


@pytest.fixture
def chain() -> Chain:
    made = Chain(make_genesis(validators=VALIDATORS))
    deploy_and_call(made)
    return made


def expected_rewards(
    leaves: list[LogLeaf], starts: dict[bytes, tuple[int, int] | None]
) -> dict[bytes, int]:
    """The formula applied independently: per executor, its leaves in call order."""
    rewards = {}
    for executor, start in starts.items():
        mine = [leaf for leaf in leaves if leaf.executor == executor]
        rewards[executor] = reward_base_units(usage_of(mine, start, POE), POE)
    return rewards


def nex(chain: Chain, executor: bytes) -> int:
    return bank_queries.balance(chain.state.reader, Address.from_public_key(executor), Denom.NEX)


def test_a_logblock_commits_indexes_its_receipts_and_mints_poe(chain: Chain) -> None:
    replicas, submitter = Replicas(chain), Submitter(chain)
    first = replicas.leaves(0, 2)
    supply_before = bank_queries.supply(chain.state.reader, Denom.NEX)
    assert submitter.submit(logblock_of(chain, first, 0, 2)) == OK
    starts: dict[bytes, tuple[int, int] | None] = {replicas.key(i): None for i in range(2)}
    rewards = expected_rewards(first, starts)
    assert all(amount > 0 for amount in rewards.values())
    for executor, amount in rewards.items():
        assert nex(chain, executor) == amount
    supply = bank_queries.supply(chain.state.reader, Denom.NEX)
    assert supply.minted == supply_before.minted + sum(rewards.values())
    # The next range continues each executor's chain; storage counts from its tip.
    second = replicas.leaves(3, 5)
    assert submitter.submit(logblock_of(chain, second, 3, 5)) == OK
    starts = {leaf.executor: (leaf.block_time, leaf.state_bytes) for leaf in first[-2:]}
    more = expected_rewards(second, starts)
    for executor in rewards:
        assert nex(chain, executor) == rewards[executor] + more[executor]
    assert queries.app_tip(chain.state.reader, APP).next_seq == 6
    for leaf in first + second:
        found = queries.receipt(chain.state.reader, leaf.receipt_hash)
        assert found is not None and found.leaf == leaf
        proof = queries.inclusion_proof(chain.state.reader, leaf.receipt_hash)
        assert proof is not None and proof.height == found.height
        stored = dict(queries.logblocks(chain.state.reader, APP))[proof.number]
        assert proof.root == stored.logblock.root
        merkle.verify_inclusion(
            leaf.receipt_hash, proof.index, proof.tree_size, proof.path, proof.root
        )
    assert queries.receipt(chain.state.reader, seed("nothing")) is None


def test_inclusion_proofs_match_the_rfc6962_vectors() -> None:
    tree = load_vectors("merkle/rfc6962_ct.json")
    hashes = [merkle.leaf_hash(bytes.fromhex(item)) for item in tree["leaf_inputs_hex"]]
    leaves = tuple(
        LogLeaf(digest, bytes(32), index, bytes(32), bytes(32), 0, 0, 0, 0, 0)
        for index, digest in enumerate(hashes)
    )
    logblock = LogBlock(APP, 1, 0, 7, merkle.root_from_leaf_hashes(list(hashes)), leaves)
    assert logblock.root.hex() == tree["roots_by_size"]["8"]
    writer = Overlay(MemoryReader())
    store_logblock(writer, 1, logblock)
    for vector in tree["inclusion"]:
        if vector["tree_size"] != 8:
            continue
        proof = queries.inclusion_proof(writer, hashes[vector["leaf_index"]])
        assert proof is not None
        assert [item.hex() for item in proof.path] == vector["proof"]
        merkle.verify_inclusion(proof.receipt_hash, proof.index, 8, proof.path, proof.root)


def notary_state(chain: Chain) -> list[tuple[bytes, bytes]]:
    """The notary's records, the calls (their escrow status), the billing statements, and the
    escrow account: what a refused LogBlock must leave as it was."""
    reader = chain.state.reader
    return [
        *reader.scan(keys.PREFIX),
        *reader.scan(apps_keys.CALL),
        *reader.scan(billing_keys.APP_STATEMENT),
        *reader.scan(billing_keys.EXECUTOR_STATEMENT),
        (ESCROW.raw, bank_queries.balance(reader, ESCROW, Denom.FLX).to_bytes(8, "big")),
    ]


def refused(chain: Chain, submitter: Submitter, logblock: LogBlock) -> int:
    """Submit a LogBlock that must be refused; check that only the fee moved."""
    before = notary_state(chain)
    supply = bank_queries.supply(chain.state.reader, Denom.NEX)
    code = submitter.submit(logblock)
    assert code != OK
    assert notary_state(chain) == before
    assert bank_queries.supply(chain.state.reader, Denom.NEX) == supply
    return code


def test_each_guard_has_its_code_in_ladder_order(chain: Chain) -> None:
    replicas, submitter = Replicas(chain), Submitter(chain)
    leaves = replicas.leaves(0, 2)
    good = logblock_of(chain, leaves, 0, 2)

    def resign(logblock: LogBlock) -> LogBlock:
        return sign(logblock, chain, [0, 1, 2])

    cases = [
        # Stateless: range, order, coverage.
        (replace(good, first_seq=3, last_seq=2), errors.RANGE_INVALID),
        (replace(good, last_seq=1), errors.RANGE_INVALID),
        (replace(good, leaves=tuple(reversed(good.leaves))), errors.LEAVES_NOT_IN_ORDER),
        (replace(good, leaves=good.leaves + good.leaves[-1:]), errors.LEAVES_NOT_IN_ORDER),
        (replace(good, last_seq=3), errors.RANGE_NOT_COVERED),
        # Against the app's tip, the root, the committee.
        (replace(good, first_seq=1, leaves=good.leaves[2:]), errors.RANGE_NOT_CONTIGUOUS),
        (replace(good, root=seed("root")), errors.WRONG_ROOT),
        (replace(good, signers=b""), errors.SIGNERS_INVALID),
        (replace(good, signers=bytes([0b10111])), errors.SIGNERS_INVALID),
        (sign(good, chain, [0, 1]), errors.NOTARY_POWER_TOO_LOW),
        (replace(good, aggregate=sign(good, chain, [0, 1, 3]).aggregate), errors.AGGREGATE_INVALID),
    ]
    # A receipt whose `previous` is not its executor's last: the root and signature follow it.
    broken = list(leaves)
    broken[2] = replace(broken[2], previous=seed("elsewhere"))
    cases.append((logblock_of(chain, broken, 0, 2), errors.CHAIN_LINK_BROKEN))
    # The same receipt under two calls.
    twice = list(leaves)
    twice[4] = replace(twice[4], receipt_hash=twice[0].receipt_hash)
    cases.append((logblock_of(chain, twice, 0, 2), errors.RECEIPT_ALREADY_NOTARISED))
    cases += against_the_app(chain, good)
    for logblock, code in cases:
        assert refused(chain, submitter, logblock) == code, code
    # Ladder order: a LogBlock wrong in two ways earns the earlier rung's code.
    assert (
        refused(chain, submitter, replace(good, root=seed("x"), signers=b"")) == errors.WRONG_ROOT
    )
    assert (
        refused(chain, submitter, replace(good, app_version=2, first_seq=1, leaves=good.leaves[2:]))
        == errors.APP_VERSION_UNKNOWN
    )
    assert submitter.submit(good) == OK
    assert refused(chain, submitter, good) == errors.RANGE_NOT_CONTIGUOUS
    # Contiguous but holding an already notarised receipt.
    again = replicas.leaves(3, 3)
    again[0] = replace(again[0], receipt_hash=leaves[0].receipt_hash)
    code = refused(chain, submitter, resign(logblock_of(chain, again, 3, 3)))
    assert code == errors.RECEIPT_ALREADY_NOTARISED


def against_the_app(chain: Chain, good: LogBlock) -> list[tuple[LogBlock, int]]:
    """LogBlocks each wrong against state/apps in one way, signed by a quorum, with their
    codes (their own Replicas, so the good chain of receipts is untouched)."""
    beyond = Replicas(chain).leaves(0, CALLS)  # call CALLS was never made
    stranger = Replicas(chain)
    undrawn = [
        validator_wallet(index).key
        for index in range(VALIDATORS)
        if validator_wallet(index).key not in stranger.keys
    ]
    stranger.keys[1] = undrawn[0]
    greedy = [
        replace(leaf, fuel_used=FUEL_LIMIT + 1) if leaf.call_seq == 1 else leaf
        for leaf in Replicas(chain).leaves(0, 2)
    ]
    return [
        (replace(good, app_id=seed("no app")), errors.APP_UNKNOWN),
        (replace(good, app_version=0), errors.APP_VERSION_UNKNOWN),
        (replace(good, app_version=2), errors.APP_VERSION_UNKNOWN),
        (logblock_of(chain, beyond, 0, CALLS), errors.CALL_UNKNOWN),
        (logblock_of(chain, stranger.leaves(0, 2), 0, 2), errors.EXECUTOR_NOT_ASSIGNED),
        (logblock_of(chain, greedy, 0, 2), errors.FUEL_ABOVE_CALL_LIMIT),
    ]


def upgrades(by_root: bool) -> list[Message]:
    """The owner's upgrade of the counter to COUNTER_V2: inline, or placed in relay storage
    (the four validators stand in as storage nodes) and upgraded to by its root."""
    if not by_root:
        return [UpgradeApp(APP, COUNTER_V2)]
    placed = place_message(COUNTER_V2, 2, 4)
    functions = ("increment",)
    upgrade = UpgradeStoredApp(APP, placed.root, placed.size, blake3_hash(COUNTER_V2), functions)
    return [placed, upgrade]


@pytest.mark.parametrize("by_root", [False, True])
def test_a_logblock_holds_one_version_of_calls(chain: Chain, by_root: bool) -> None:
    """After an upgrade (inline or by root), the receipts of calls naming version 1 are still
    notarised as version 1's; a LogBlock cannot pass them off as version 2's."""
    txs = [OWNER.tx(1 + index, message) for index, message in enumerate(upgrades(by_root))]
    assert [receipt.code for receipt in chain.run(txs).receipts] == [OK] * len(txs)
    deploy_and_call(chain, 1, nonce=CALLS)  # call CALLS names version 2
    submitter = Submitter(chain)
    leaves = Replicas(chain).leaves(0, CALLS)
    version_two = replace(logblock_of(chain, leaves, 0, CALLS), app_version=2)
    assert refused(chain, submitter, version_two) == errors.CALL_VERSION_MISMATCH
    assert refused(chain, submitter, replace(version_two, app_version=3)) == (
        errors.APP_VERSION_UNKNOWN
    )
    assert submitter.submit(logblock_of(chain, leaves[: 2 * CALLS], 0, CALLS - 1)) == OK


def test_disagreeing_replicas_open_a_dispute_and_the_range_is_withheld(chain: Chain) -> None:
    replicas, submitter = Replicas(chain), Submitter(chain)
    leaves = replicas.leaves(0, 2, diverge_at=1)
    logblock = logblock_of(chain, leaves, 0, 2)
    assert submitter.submit(logblock) == OK
    dispute = queries.dispute(chain.state.reader, APP, 0)
    assert dispute is not None and dispute.call_seq == 1 and dispute.logblock == logblock
    assert list(queries.disputes(chain.state.reader)) == [dispute]
    assert queries.app_tip(chain.state.reader, APP).next_seq == 0
    assert all(nex(chain, replicas.key(index)) == 0 for index in range(2))
    assert queries.receipt(chain.state.reader, leaves[0].receipt_hash) is None
    agreeing = Replicas(chain).leaves(0, 2)
    assert refused(chain, submitter, logblock_of(chain, agreeing, 0, 2)) == errors.RANGE_DISPUTED


def test_the_committee_is_the_validator_set_until_the_registry_has_notaries(chain: Chain) -> None:
    committee = notary_committee(chain.state.reader)
    addresses = sorted(validator_wallet(index).address.raw for index in range(VALIDATORS))
    assert [member.address.raw for member in committee] == addresses
    assert ExecutorTip().receipt_hash == bytes(32)


def test_the_logblock_round_trips_through_its_wire_form(chain: Chain) -> None:
    logblock = logblock_of(chain, Replicas(chain).leaves(0, 1), 0, 1)
    assert LogBlock.from_wire(decode(encode(logblock.to_wire()))) == logblock
    assert decode(logblock.encode()).tag == tags.LOGBLOCK.number


def test_a_committed_logblocks_records_are_the_codecs_bytes(chain: Chain) -> None:
    """The LogBlock (stored from the encoding its aggregate's check made), its receipt index
    and the executor tips are written without the codec's hooks: the same bytes as
    `encode_value` of their values."""
    replicas, submitter = Replicas(chain), Submitter(chain)
    leaves = replicas.leaves(0, 2)
    logblock = logblock_of(chain, leaves, 0, 2)
    assert submitter.submit(logblock) == OK
    reader = chain.state.reader
    height = dict(queries.logblocks(reader, APP))[0].height
    assert reader.get(keys.logblock(APP, 0)) == encode_value([height, logblock.to_wire()])
    for index, leaf in enumerate(leaves):
        assert reader.get(keys.receipt(leaf.receipt_hash)) == encode_value([APP, 0, index])
    for leaf in leaves[-2:]:
        tip = [leaf.receipt_hash, leaf.block_time, leaf.state_bytes]
        assert reader.get(keys.executor_tip(APP, leaf.executor)) == encode_value(tip)
