"""court: disputes through real blocks (build, apply, commit, invariants after each), with
real executions of the counter app in the cage, receipts signed by the drawn executors and
LogBlocks signed by the notary committee; the guard ladders' codes and their order, the
bisection's turns and deadlines, the one-step ruling and its consequences."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import decode, encode
from metanode.crypto import ed25519, vrf
from metanode.crypto.hashing import blake3_hash
from metanode.docklock.appstate import EMPTY_ROOT, prove_keys, state_root
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Bundle, Receipt, call_seed
from metanode.errors import ConfigError
from metanode.state.apps import queries as apps_queries
from metanode.state.apps.records import CallStatus
from metanode.state.apps.rules import settlement
from metanode.state.bank import queries as bank_queries
from metanode.state.bank.accounts import TREASURY
from metanode.state.codes import OK
from metanode.state.court import errors, game, queries
from metanode.state.court import params as court_params
from metanode.state.court.consequences import BONDS
from metanode.state.court.params import DEFAULT as COURT
from metanode.state.court.records import AppDisputes, Clawback, Dispute, Status, read_call_block
from metanode.state.court.ruling import evidence_bytes
from metanode.state.genesis.document import from_tree, parse_genesis
from metanode.state.genesis.state import export_genesis
from metanode.state.notary import errors as notary_errors
from metanode.state.notary import queries as notary_queries
from metanode.state.poe.formula import reward_base_units, usage_of
from metanode.state.poe.params import DEFAULT as POE
from metanode.state.staking.records import read_validator
from metanode.types import (
    Address,
    Denom,
    LogLeaf,
    MoveDispute,
    OpenDispute,
    RevealReceipt,
    RuleDispute,
    Transaction,
    Transfer,
)
from metanode.types.messages import Message
from tests.conftest import examples
from tests.state.support import (
    COIN,
    Chain,
    Wallet,
    genesis_tree,
    make_genesis,
    validator_wallet,
)
from tests.state.test_notary import (
    APP,
    CALLER,
    COUNTER,
    FUEL_LIMIT,
    OWNER,
    VALIDATORS,
    Submitter,
    deploy_and_call,
    drawn_keys,
    logblock_of,
)

CHALLENGER = Wallet.of(3)
BOND = COURT.bond
TURN_BLOCKS = 5
STAKE = 1_000 * COIN  # each genesis validator's (support.validator_entry)


class Court:
    """A chain with the counter deployed and called, and helpers to play disputes."""

    def __init__(self, calls: int = 4, window: int | None = None) -> None:
        court: dict[str, int] = {"turn_blocks": TURN_BLOCKS}
        if window is not None:
            court["dispute_window_blocks"] = window
        parameters = {"staking": {"unbonding_delay_blocks": 3}, "court": court}
        self.chain = Chain(make_genesis(validators=VALIDATORS, parameters=parameters), vrf=True)
        deploy_and_call(self.chain, calls)
        self.submitter = Submitter(self.chain)
        self.nonces: dict[Address, int] = {}
        self.keys = [ed25519.PrivateKey(bytes(key)) for key in drawn_keys(self.chain, 0)]
        self.calls = calls
        # The validators play their side of disputes; their wallets need FLX for the fees.
        self.nonces[OWNER.address] = 1
        funding = [
            self.tx(OWNER, Transfer(validator_wallet(index).address, COIN, Denom.FLX))
            for index in range(VALIDATORS)
        ]
        assert self.run(funding) == [OK] * VALIDATORS

    def send(self, wallet: Wallet, message: Message) -> int:
        return self.run([self.tx(wallet, message)])[0]

    def tx(self, wallet: Wallet, message: Message) -> Transaction:
        nonce = self.nonces.get(wallet.address, 0)
        self.nonces[wallet.address] = nonce + 1
        return wallet.tx(nonce, message)

    def run(self, txs: list[Transaction]) -> list[int]:
        return [receipt.code for receipt in self.chain.run(txs).receipts]

    def seed_of(self, seq: int) -> tuple[int, bytes]:
        """(block time, seed) of call `seq`, as an executor derives them from its block."""
        reader = self.chain.state.reader
        call = apps_queries.call(reader, APP, seq)
        assert call is not None
        block = read_call_block(reader, call.height)
        assert block is not None
        block_seed = vrf.proof_to_hash(block.vrf_proof)[:32]
        return block.block_time, call_seed(block_seed, APP, call.version, seq)

    def truth(self, upto: int) -> list[dict[bytes, bytes]]:
        """The app's true states: before call 0, after call 0, … after call `upto`."""
        return [{}] + [{b"count": (n + 1).to_bytes(8, "little")} for n in range(upto + 1)]

    def executions(self, executor: int, lie: Lie | None = None) -> list[Bundle]:
        """Executor `executor`'s signed runs of every call, in order, each chained to the one
        before; `lie` falsifies one of them (its receipt re-signed)."""
        key = self.keys[executor]
        previous = bytes(32)
        state: dict[bytes, bytes] = {}
        made = []
        for seq in range(self.calls):
            block_time, seed = self.seed_of(seq)
            bundle, after = execute(
                COUNTER,
                "increment",
                b"",
                state,
                key,
                block_time=block_time,
                seed=seed,
                previous=previous,
                fuel=FUEL_LIMIT,
            )
            if lie is not None and lie.seq == seq:
                bundle = lie.apply(bundle, key, made)
            made.append(bundle)
            previous = bundle.receipt.hash()
            state = after
        return made

    def notarise(self, *runs: list[Bundle]) -> None:
        leaves = sorted(
            (
                bundle.receipt.leaf(seq, len(bundle.output), 13)
                for run in runs
                for seq, bundle in enumerate(run)
            ),
            key=lambda leaf: leaf.order,
        )
        assert self.submitter.submit(logblock_of(self.chain, leaves, 0, self.calls - 1)) == OK

    def dispute(self, dispute_id: int = 0) -> Dispute:
        found = queries.dispute(self.chain.state.reader, dispute_id)
        assert found is not None
        return found

    def balance(self, address: Address, denom: Denom) -> int:
        return bank_queries.balance(self.chain.state.reader, address, denom)

    def stake(self, executor: int) -> int:
        record = read_validator(self.chain.state.reader, self.address(executor))
        assert record is not None
        return record.stake

    def address(self, executor: int) -> Address:
        return Address.from_public_key(self.keys[executor].public_key)

    def wallet(self, executor: int) -> Wallet:
        by_address = {validator_wallet(i).address: validator_wallet(i) for i in range(VALIDATORS)}
        return by_address[self.address(executor)]


@dataclass(frozen=True)
class Lie:
    """How an executor falsifies its receipt of call `seq`."""

    seq: int
    # "root": a wrong state root after a correct output; "output": a wrong output; "read": the
    # run read a forged value (its witness shows it) but claims the true state before; "copy":
    # the receipt of the call before, chained and signed again as this call's.
    kind: str

    def apply(self, bundle: Bundle, key: ed25519.PrivateKey, made: list[Bundle]) -> Bundle:
        receipt = bundle.receipt
        if self.kind == "root":
            receipt = replace(receipt, state_root_after=blake3_hash(b"a state that never was"))
        elif self.kind == "output":
            receipt = replace(receipt, output_hash=blake3_hash(b"an output never made"))
        elif self.kind == "read":
            forged = {b"count": (99).to_bytes(8, "little")}
            run, _after = execute(
                COUNTER, "increment", b"", forged, key, block_time=receipt.block_time,
                seed=receipt.seed, previous=receipt.previous, fuel=FUEL_LIMIT,
            )  # fmt: skip
            bundle = replace(run, state_before=bundle.state_before)
            receipt = replace(run.receipt, state_root_before=receipt.state_root_before)
        else:
            bundle = made[-1]
            receipt = replace(bundle.receipt, previous=receipt.previous)
        signed = replace(receipt, signature=key.sign(receipt.signing_message()))
        return replace(bundle, receipt=signed)


def open_message(receipt: Receipt, claim: bytes, *, from_start: bool = False, bond: int = BOND):
    return OpenDispute(encode(receipt.to_wire()), claim, from_start, bond)


def rule_message(dispute_id: int, state: dict[bytes, bytes], evidence: bytes = b""):
    """A ruling whose reads prove every key of `state` and the counter's key."""
    return RuleDispute(dispute_id, prove_keys(state, [*state, b"count"]), evidence)


def evidence_of(bundle: Bundle) -> bytes:
    return evidence_bytes(bundle.receipt, bundle.witness)


def test_a_wrong_state_root_is_caught_and_its_executor_slashed() -> None:
    court = Court()
    lying = court.executions(0, Lie(2, "root"))
    court.notarise(lying)
    truth = court.truth(court.calls)
    treasury = court.balance(TREASURY, Denom.GEN)
    challenger_gen = court.balance(CHALLENGER.address, Denom.GEN)
    challenger_flx = court.balance(CHALLENGER.address, Denom.FLX)
    claim = state_root(truth[3])
    assert court.send(CHALLENGER, open_message(lying[2].receipt, claim)) == OK
    opened = court.dispute()
    assert (opened.status, opened.lo, opened.hi) == (Status.RULING_DUE, 2, 2)
    assert court.balance(BONDS, Denom.FLX) == BOND
    caller_flx = court.balance(CALLER.address, Denom.FLX)
    call = apps_queries.call(court.chain.state.reader, APP, 2)
    assert call is not None
    fee_share = settlement(court.chain.state.reader, call, lying[2].receipt.fuel_used, 1).each
    code = court.send(CHALLENGER, rule_message(0, truth[2], evidence_of(lying[2])))
    assert code == OK
    # The false receipt's share of its call's fee goes back to the caller.
    assert fee_share > 0 and court.balance(CALLER.address, Denom.FLX) == caller_flx + fee_share
    ruled = court.dispute()
    assert ruled.status is Status.CHALLENGER_WON
    assert ruled.ruling is not None and ruled.ruling.root == claim
    # The counter makes three host calls (get, set, output): the lie is in the end state.
    assert (ruled.ruling.step, ruled.ruling.what) == (3, "state root after")
    slashed = STAKE * COURT.slash_fraction_ppm // 1_000_000
    share = slashed * COURT.challenger_share_ppm // 1_000_000
    assert court.stake(0) == STAKE - slashed
    assert court.balance(CHALLENGER.address, Denom.GEN) == challenger_gen + share
    assert court.balance(TREASURY, Denom.GEN) == treasury + slashed - share
    fee = 2 * 1_000  # the two transactions' fees (support.FEE)
    assert court.balance(CHALLENGER.address, Denom.FLX) == challenger_flx - fee
    assert court.balance(BONDS, Denom.FLX) == 0
    reader = court.chain.state.reader
    assert queries.proven_false(reader, lying[2].receipt.hash()) == 0
    assert queries.proven_false(reader, lying[1].receipt.hash()) is None


@pytest.mark.parametrize("spent", [False, True])
def test_the_nex_minted_for_a_false_receipt_is_clawed_back(spent: bool) -> None:
    court = Court()
    lying = court.executions(0, Lie(2, "root"))
    court.notarise(lying)
    liar = court.address(0)
    minted = court.balance(liar, Denom.NEX)
    # Its first LogBlock: storage counted from no earlier receipt. The formula is not linear,
    # so the false receipt's part is what the mint falls by without it.
    leaves = [bundle.receipt.leaf(seq, len(bundle.output), 13) for seq, bundle in enumerate(lying)]
    without = [leaf for seq, leaf in enumerate(leaves) if seq != 2]
    owed = reward_base_units(usage_of(leaves, None, POE), POE) - reward_base_units(
        usage_of(without, None, POE), POE
    )
    assert minted > owed > 0
    if spent:  # all but one base unit of the mint given away before the ruling
        assert court.send(court.wallet(0), Transfer(CALLER.address, minted - 1, Denom.NEX)) == OK
    kept = court.balance(liar, Denom.NEX)
    supply = bank_queries.supply(court.chain.state.reader, Denom.NEX)
    truth = court.truth(court.calls)
    assert court.send(CHALLENGER, open_message(lying[2].receipt, state_root(truth[3]))) == OK
    assert court.send(CHALLENGER, rule_message(0, truth[2])) == OK
    assert court.dispute().status is Status.CHALLENGER_WON
    clawed = min(owed, kept)
    reader = court.chain.state.reader
    assert court.balance(liar, Denom.NEX) == kept - clawed
    assert bank_queries.supply(reader, Denom.NEX).total == supply.total - clawed
    clawback = queries.clawback(reader, lying[2].receipt.hash())
    assert clawback == Clawback(clawed, owed - clawed)
    assert clawback.outcome == ("partly_spent" if spent else "clawed_back")
    assert queries.clawback(reader, lying[1].receipt.hash()) is None


def test_a_wrong_output_is_named_at_its_witness_step() -> None:
    court = Court()
    lying = court.executions(1, Lie(1, "output"))
    court.notarise(lying)
    truth = court.truth(court.calls)
    # The liar's root is right, so a challenger claiming the right root is refused; one who
    # bisects from the start names another root and loses along with the liar.
    right = open_message(lying[1].receipt, lying[1].receipt.state_root_after)
    assert court.send(CHALLENGER, right) == errors.CLAIM_MATCHES_RECEIPT
    wrong = blake3_hash(b"wrong")
    assert court.send(CHALLENGER, open_message(lying[1].receipt, wrong)) == OK
    assert court.send(CHALLENGER, rule_message(0, truth[1], evidence_of(lying[1]))) == OK
    ruled = court.dispute()
    assert ruled.status is Status.BOTH_WRONG
    assert ruled.ruling is not None and ruled.ruling.what == "output"
    assert court.stake(1) < STAKE
    assert court.balance(BONDS, Denom.FLX) == 0


def test_a_frivolous_challenge_loses_its_bond() -> None:
    court = Court()
    honest = court.executions(0)
    court.notarise(honest)
    truth = court.truth(court.calls)
    treasury = court.balance(TREASURY, Denom.FLX)
    flx = court.balance(CHALLENGER.address, Denom.FLX)
    claim = blake3_hash(b"I say otherwise")
    assert court.send(CHALLENGER, open_message(honest[3].receipt, claim, from_start=True)) == OK
    dispute = court.dispute()
    assert (dispute.status, dispute.lo, dispute.hi) == (Status.BISECT, 0, 3)
    assert dispute.agreed_root == EMPTY_ROOT
    defender, roots = court.wallet(0), [state_root(state) for state in truth]
    play_bisection(court, defender, roots, [*roots[:-1], claim])
    assert court.send(CHALLENGER, rule_message(0, truth[court.dispute().lo])) == OK
    ruled = court.dispute()
    assert ruled.status is Status.DEFENDER_WON
    assert court.stake(0) == STAKE
    # The bond went to the treasury, beside the block fees' treasury share (0 on dev chains).
    assert court.balance(TREASURY, Denom.FLX) == treasury + BOND
    assert court.balance(CHALLENGER.address, Denom.FLX) < flx - BOND


def play_bisection(
    court: Court, defender: Wallet, defender_roots: list[bytes], challenger_roots: list[bytes]
) -> int:
    """Both sides answer and post at the points the rules ask for, by their own roots
    (`roots[n]` is the root before call n); the turns it took."""
    turns = 0
    k = COURT.points_per_turn
    while (dispute := court.dispute()).status is Status.BISECT:
        mover = defender if dispute.mover == 0 else CHALLENGER
        roots = defender_roots if dispute.mover == 0 else challenger_roots
        at = game.points(dispute.lo, dispute.hi, k) if dispute.pending else ()
        answers = tuple(roots[point + 1] for point in at)
        theirs = (dispute.pending, answers) if dispute.mover == 1 else (answers, dispute.pending)
        left = game.narrow(dispute.lo, dispute.hi, dispute.agreed_root, dispute.posts, at, theirs)
        posted = tuple(roots[point + 1] for point in game.points(left.lo, left.hi, k))
        assert court.send(mover, MoveDispute(0, answers, posted)) == OK
        turns += 1
    assert court.dispute().turns == turns
    return turns


def test_a_thousand_call_range_settles_within_log2_plus_two_turns() -> None:
    calls = 1_000
    liar_from = 613  # the defender's roots go wrong from the state after this call on
    court = Court(calls=calls)
    key = court.keys[0]
    truth = [state_root(state) for state in court.truth(calls)]
    lies = [
        *truth[: liar_from + 1],
        *(blake3_hash(b"lie" + n.to_bytes(8, "big")) for n in range(calls)),
    ]
    # Leaves stand for the executor's receipts (the chain sees leaves only); the challenged
    # receipt is a whole signed body.
    previous, leaves = bytes(32), []
    block_time, seed = court.seed_of(calls - 1)
    last = Receipt(
        app_id=APP,
        function="increment",
        input_hash=blake3_hash(b""),
        state_root_before=lies[calls - 1],
        state_root_after=lies[calls],
        fuel_used=1,
        peak_memory_bytes=1,
        witness_root=bytes(32),
        witness_length=3,
        outcome="ok",
        output_hash=bytes(32),
        block_time=block_time,
        seed=seed,
        executor=key.public_key,
        previous=bytes(32),
    )
    for seq in range(calls):
        if seq == calls - 1:
            signed = replace(last, previous=previous)
            signed = replace(signed, signature=key.sign(signed.signing_message()))
            leaf = signed.leaf(seq, 8, 13)
        else:
            digest = blake3_hash(b"receipt" + seq.to_bytes(8, "big"))
            leaf = LogLeaf(digest, key.public_key, seq, previous, digest, 1, 1, 8, 13, block_time)
        leaves.append(leaf)
        previous = leaf.receipt_hash
    assert court.submitter.submit(logblock_of(court.chain, leaves[:500], 0, 499)) == OK
    assert court.submitter.submit(logblock_of(court.chain, leaves[500:], 500, 999)) == OK
    claim = truth[calls]
    assert court.send(CHALLENGER, open_message(signed, claim, from_start=True)) == OK
    turns = play_bisection(court, court.wallet(0), lies, truth)
    assert turns <= math.ceil(math.log2(calls)) + 2
    narrowed = court.dispute()
    assert (narrowed.status, narrowed.lo, narrowed.hi) == (
        Status.RULING_DUE,
        liar_from,
        liar_from,
    )
    before = court.truth(calls)[liar_from]
    assert court.send(CHALLENGER, rule_message(0, before)) == OK
    assert court.dispute().status is Status.CHALLENGER_WON


def test_a_side_that_misses_its_deadline_loses() -> None:
    court = Court()
    lying = court.executions(0, Lie(3, "root"))
    court.notarise(lying)
    claim = state_root(court.truth(court.calls)[4])
    assert court.send(CHALLENGER, open_message(lying[3].receipt, claim, from_start=True)) == OK
    deadline = court.dispute().deadline
    while court.chain.state.height < deadline - 1:
        court.run([])
    assert court.dispute().status is Status.BISECT
    court.run([])
    assert court.chain.state.height == deadline
    assert court.dispute().status is Status.CHALLENGER_WON
    assert court.stake(0) < STAKE
    late = MoveDispute(0, (), (bytes(32),))
    assert court.send(court.wallet(0), late) == errors.WRONG_STAGE


def test_replicas_that_disagree_open_a_dispute_the_honest_one_wins() -> None:
    court = Court()
    honest = court.executions(0)
    lying = court.executions(1, Lie(2, "root"))
    court.notarise(honest, lying)
    reader = court.chain.state.reader
    assert notary_queries.dispute(reader, APP, 0) is not None
    assert queries.of_app(reader, APP) == AppDisputes(open=1, settled=0)
    assert queries.app_dispute_ids(reader, APP, 10) == [0]
    assert queries.of_app(reader, bytes(32)) == AppDisputes()
    dispute = court.dispute()
    assert (dispute.status, dispute.bond, dispute.call_seq) == (Status.REVEAL, 0, 2)
    sides = {address: index for index, address in enumerate(dispute.sides)}
    liar_side = sides[court.address(1)]
    assert court.send(court.wallet(1), RevealReceipt(0, encode(honest[2].receipt.to_wire()))) == (
        errors.RECEIPT_NOT_THE_SIDES
    )
    for executor, run in ((0, honest), (1, lying)):
        reveal = RevealReceipt(0, encode(run[2].receipt.to_wire()))
        assert court.send(court.wallet(executor), reveal) == OK
    assert court.dispute().status is Status.RULING_DUE
    truth = court.truth(court.calls)
    honest_gen = court.balance(court.address(0), Denom.GEN)
    assert court.send(CHALLENGER, rule_message(0, truth[2], evidence_of(lying[2]))) == OK
    ruled = court.dispute()
    assert ruled.status is (Status.DEFENDER_WON if liar_side == 1 else Status.CHALLENGER_WON)
    assert queries.of_app(court.chain.state.reader, APP) == AppDisputes(open=0, settled=1)
    assert court.stake(1) < STAKE and court.stake(0) == STAKE
    assert court.balance(court.address(0), Denom.GEN) > honest_gen
    # A withheld range was never minted for: there is nothing to claw back.
    assert queries.clawback(court.chain.state.reader, lying[2].receipt.hash()) is None
    # The range is released: a LogBlock of the honest replica's receipts alone can follow;
    # one that holds the false receipt again cannot.
    assert notary_queries.dispute(court.chain.state.reader, APP, 0) is None
    again = sorted(
        (
            bundle.receipt.leaf(seq, 8, 13)
            for run in (honest, lying)
            for seq, bundle in enumerate(run)
        ),
        key=lambda leaf: leaf.order,
    )
    resubmitted = court.submitter.submit(logblock_of(court.chain, again, 0, court.calls - 1))
    assert resubmitted == notary_errors.RECEIPT_PROVEN_FALSE
    court.notarise(honest)
    assert notary_queries.app_tip(court.chain.state.reader, APP).next_seq == court.calls


def test_open_refusals_in_ladder_order() -> None:
    court = Court(window=7)  # the LogBlock's height + 7: the seventh refusal below
    lying = court.executions(0, Lie(1, "root"))
    unnotarised = court.executions(1)
    court.notarise(lying)
    claim = state_root(court.truth(court.calls)[2])
    receipt = lying[1].receipt
    poor = court.wallet(1)  # a validator funded with one coin of FLX
    assert court.send(CHALLENGER, OpenDispute(b"\x00", claim, False, BOND)) == (
        errors.RECEIPT_MALFORMED
    )
    assert court.send(CHALLENGER, open_message(receipt, receipt.state_root_after)) == (
        errors.CLAIM_MATCHES_RECEIPT
    )
    other = blake3_hash(b"another root")
    assert court.send(CHALLENGER, open_message(unnotarised[1].receipt, other)) == (
        errors.RECEIPT_NOT_NOTARISED
    )
    assert court.send(CHALLENGER, open_message(receipt, claim, bond=BOND - 1)) == (
        errors.BOND_TOO_SMALL
    )
    assert court.send(poor, open_message(receipt, claim)) == errors.BOND_UNFUNDED
    assert court.send(CHALLENGER, open_message(receipt, claim)) == OK
    assert court.send(CHALLENGER, open_message(receipt, claim)) == errors.RECEIPT_ALREADY_DISPUTED
    court.run([])
    late = open_message(lying[2].receipt, other)
    assert court.send(CHALLENGER, late) == errors.WINDOW_CLOSED


def test_play_refusals_write_nothing() -> None:
    court = Court()
    lying = court.executions(0, Lie(3, "root"))
    court.notarise(lying)
    truth = court.truth(court.calls)
    claim = state_root(truth[4])
    assert court.send(CHALLENGER, open_message(lying[3].receipt, claim, from_start=True)) == OK
    defender = court.wallet(0)
    before = court.dispute()
    refusals = [
        (CHALLENGER, MoveDispute(7, (), ())),  # no such dispute
        (CHALLENGER, MoveDispute(0, (), (bytes(32),))),  # the defender moves first
        (defender, MoveDispute(0, (bytes(32),), (bytes(32),))),  # nothing posted to answer
        (defender, MoveDispute(0, (), ())),  # the range 0..3 has a point to post
        (CHALLENGER, rule_message(0, truth[0])),  # not yet narrowed to one call
        (CHALLENGER, RevealReceipt(0, b"")),  # not a replicas' dispute
    ]
    codes = court.run([court.tx(wallet, message) for wallet, message in refusals])
    assert codes == [
        errors.DISPUTE_UNKNOWN,
        errors.NOT_YOUR_TURN,
        errors.MOVE_SHAPE_INVALID,
        errors.MOVE_SHAPE_INVALID,
        errors.WRONG_STAGE,
        errors.WRONG_STAGE,
    ]
    assert court.dispute() == before
    play_bisection(
        court,
        defender,
        [state_root(state) for state in truth[:4]] + [lying[3].receipt.state_root_after],
        [state_root(state) for state in truth],
    )
    narrowed = court.dispute()
    wrong_state = {b"count": b"\xff" * 8}
    good = truth[narrowed.lo]
    pairs, count, proof = decode(prove_keys(good, [b"count"]))
    closed = encode(state_root(good))  # the root alone: no path opened
    forged = encode([[[b"count", b"\x00" * 8]], count, proof])
    read_refusals = [
        (RuleDispute(0, b"\x01", b""), errors.READS_MALFORMED),
        (rule_message(0, wrong_state), errors.STATE_MISMATCH),
        (RuleDispute(0, forged, b""), errors.READS_NOT_PROVEN),
        (RuleDispute(0, encode([pairs, count, closed]), b""), errors.PROOF_INCOMPLETE),
        (RuleDispute(0, prove_keys(good, []), b""), errors.READ_UNPROVEN),
    ]
    codes = court.run([court.tx(CHALLENGER, message) for message, _code in read_refusals])
    assert codes == [code for _message, code in read_refusals]
    assert court.dispute() == narrowed
    assert court.send(CHALLENGER, rule_message(0, good, b"\x01")) == errors.EVIDENCE_INVALID
    honest_bundle = court.executions(1)[narrowed.lo]
    not_the_losers = evidence_of(honest_bundle)
    assert court.send(CHALLENGER, rule_message(0, good, not_the_losers)) == errors.EVIDENCE_INVALID
    assert court.dispute() == narrowed
    assert court.send(CHALLENGER, rule_message(0, good)) == OK


def test_points_split_a_range_into_near_equal_segments() -> None:
    assert game.points(0, 999, 1) == (499,)
    assert game.points(5, 6, 1) == (5,)
    assert game.points(5, 5, 3) == ()
    assert game.points(0, 9, 3) == (1, 4, 6)
    assert game.points(0, 2, 8) == (0, 1)


def test_the_calls_stay_held_while_the_replicas_dispute_is_open() -> None:
    court = Court()
    honest = court.executions(0)
    court.notarise(honest, court.executions(1, Lie(0, "output")))
    reader = court.chain.state.reader
    held = [apps_queries.call(reader, APP, seq) for seq in range(court.calls)]
    assert all(call is not None and call.status is CallStatus.ESCROWED for call in held)
    leaves = [bundle.receipt.leaf(seq, 8, 13) for seq, bundle in enumerate(honest)]
    refused = court.submitter.submit(logblock_of(court.chain, leaves, 0, court.calls - 1))
    assert refused == notary_errors.RANGE_DISPUTED
    assert court.balance(court.address(0), Denom.NEX) == 0


def test_a_forged_read_is_named_at_the_read() -> None:
    court = Court()
    lying = court.executions(0, Lie(2, "read"))
    court.notarise(lying)
    truth = court.truth(court.calls)
    assert court.send(CHALLENGER, open_message(lying[2].receipt, state_root(truth[3]))) == OK
    assert court.send(CHALLENGER, rule_message(0, truth[2], evidence_of(lying[2]))) == OK
    ruled = court.dispute()
    assert ruled.status is Status.CHALLENGER_WON
    # Step 0 is the counter's state_get: the value the liar's witness says it read.
    assert ruled.ruling is not None and (ruled.ruling.step, ruled.ruling.what) == (0, "host call")
    assert court.stake(0) < STAKE


def test_a_receipt_copied_from_another_call_is_caught_from_the_start() -> None:
    court = Court()
    lying = court.executions(0, Lie(2, "copy"))
    court.notarise(lying)
    truth = court.truth(court.calls)
    roots = [state_root(state) for state in truth]
    claimed = [EMPTY_ROOT, *(bundle.receipt.state_root_after for bundle in lying)]
    assert claimed[3] == roots[2]  # the copy claims call 1's end state for call 2
    challenge = open_message(lying[2].receipt, roots[3], from_start=True)
    assert court.send(CHALLENGER, challenge) == OK
    play_bisection(court, court.wallet(0), claimed, roots)
    assert (court.dispute().lo, court.dispute().hi) == (2, 2)
    assert court.send(CHALLENGER, rule_message(0, truth[2], evidence_of(lying[2]))) == OK
    ruled = court.dispute()
    assert ruled.status is Status.CHALLENGER_WON and ruled.ruling is not None
    assert (ruled.ruling.step, ruled.ruling.what) == (0, "seed or block time of another call")


def test_parameters_are_in_genesis_and_range_checked() -> None:
    assert court_params.read_params(Chain().state.reader) == COURT
    tree = genesis_tree(parameters={"court": {"turn_blocks": 7, "points_per_turn": 3}})
    document = from_tree(tree)
    chosen = replace(COURT, turn_blocks=7, points_per_turn=3)
    assert court_params.read_params(Chain(document).state.reader) == chosen
    assert parse_genesis(document.to_json()) == document
    assert export_genesis(Chain(document).state.reader).court == chosen
    tree["parameters"]["court"] = {"points_per_turn": 65}
    with pytest.raises(ConfigError, match=r"parameters\.court\.points_per_turn"):
        from_tree(tree)


@settings(max_examples=examples(100), deadline=None)
@given(
    calls=st.integers(min_value=1, max_value=100_000),
    k=st.integers(min_value=1, max_value=8),
    data=st.data(),
)
def test_bisection_ends_at_one_disputed_call_within_the_bound(
    calls: int, k: int, data: st.DataObject
) -> None:
    """Honest roots against roots that go wrong after some call (and may agree again later,
    as a liar may choose): the game ends at one call whose state before both sides agree on
    and whose state after they do not, within ⌈log_(k+1) calls⌉ answering turns plus the
    first, which only posts."""
    wrong_from = data.draw(st.integers(min_value=0, max_value=calls - 1))
    agrees_again = data.draw(st.sets(st.integers(min_value=wrong_from + 1, max_value=calls)))
    truth = [n.to_bytes(32, "big") for n in range(calls + 1)]
    lies = [
        root if n <= wrong_from or n in agrees_again - {calls} else b"\xff" + root[1:]
        for n, root in enumerate(truth)
    ]
    lo, hi, agreed, posts = 0, calls - 1, truth[0], (lies[calls], truth[calls])
    turns = 1  # the defender's first turn posts and answers nothing
    while lo < hi:
        at = game.points(lo, hi, k)
        left = game.narrow(
            lo, hi, agreed, posts, at, ([lies[p + 1] for p in at], [truth[p + 1] for p in at])
        )
        lo, hi, agreed, posts = left.lo, left.hi, left.agreed_root, left.posts
        turns += 1
    assert agreed == truth[lo] == lies[lo] and posts[0] != posts[1]
    splits = next(t for t in range(64) if (k + 1) ** t >= calls)  # ⌈log_(k+1) calls⌉
    assert turns <= splits + 1
