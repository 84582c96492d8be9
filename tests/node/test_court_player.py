"""node/court.py: two executor nodes' automatic play, each from its own real LMDB executor
store, against the in-memory chain of tests/state/test_court.py: the honest replica
challenges the liar's last receipt from the app's first call, both bisect by turns without a
person choosing a root, and the honest one asks for the ruling, with the liar's receipt and
witness fetched from the liar's node as evidence, and wins. The WANT/EVIDENCE frames between
them are carried by a direct call here; tests/node/test_court_e2e.py (slow) carries them over
the nodes' TLS links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metanode.docklock.appstate import state_root
from metanode.docklock.receipt import Bundle
from metanode.executor.store import ExecutorStore
from metanode.net.frames import Evidence
from metanode.node import court as node_court
from metanode.node.court import CourtPlayer
from metanode.state.codes import OK
from metanode.state.court.params import DEFAULT as COURT
from metanode.state.court.records import Dispute, Kind, Status
from metanode.state.notary import keys as notary_keys
from metanode.state.view import StateReader
from metanode.types import Address, ChallengeReceipt, Denom, RuleDispute, Transfer
from metanode.types.messages import Message
from tests.executor.helpers import changed, state_bytes
from tests.state.test_court import APP, OWNER, Court, Lie, open_message

LIAR, HONEST = 0, 1


def stored(path: Path, court: Court, runs: list[Bundle]) -> ExecutorStore:
    """An executor's store holding `runs` as it would after executing them."""
    store = ExecutorStore.open(path)
    truth = court.truth(court.calls)
    with store.writing() as writer:
        for seq, bundle in enumerate(runs):
            signed = (bundle.receipt, bundle.output, [record.encode() for record in bundle.witness])
            after = truth[seq + 1]
            changes = changed(truth[seq], after)
            writer.commit(APP, seq, truth[seq], changes, state_bytes(after), signed)
    return store


def nodes(
    court: Court,
    stores: list[ExecutorStore],
    *,
    answers: bool = True,
    honest_rules: bool = True,
    watch: bool = False,
) -> tuple[list[CourtPlayer], list[tuple[int, Message]]]:
    """The liar's and the honest executor's players, and the list their messages go to (the
    liar's node answers WANTs if `answers`; the honest node's request for the ruling is lost
    unless `honest_rules`)."""
    sent: list[tuple[int, Message]] = []

    def submit(index: int, message: Message) -> None:
        if honest_rules or index == LIAR or not isinstance(message, RuleDispute):
            sent.append((index, message))

    players: list[CourtPlayer] = []

    def want(asker: int, app_id: bytes, seq: int) -> None:
        other = LIAR if asker == HONEST else HONEST
        frame = players[other].evidence(app_id, seq) if answers else None
        if frame is not None:
            assert players[asker].on_evidence(court.address(other), frame) is None

    for index in (LIAR, HONEST):
        players.append(
            CourtPlayer(
                court.address(index),
                stores[index],
                lambda message, i=index: submit(i, message),
                lambda app_id, seq, i=index: want(i, app_id, seq),
                watch,
            )
        )
    return players, sent


def settle(court: Court, players: list[CourtPlayer], sent: list[tuple[int, Message]]) -> None:
    """Commit what the players send, block by block, until the dispute closes."""
    for _block in range(40):
        if not court.dispute().status.is_open:
            break
        reader, height = court.chain.state.reader, court.chain.state.height
        for player in players:
            player.on_committed(reader, height)
        txs = [court.tx(court.wallet(index), message) for index, message in sent]
        sent.clear()
        court.run(txs)


def play(tmp_path: Path, lie: str, *, answers: bool = True, honest_rules: bool = True) -> Dispute:
    """The honest replica challenges the liar's receipt of call 5 from the first call and both
    play until the ruling (`nodes` for the flags)."""
    court = Court(calls=6)
    lying = court.executions(0, Lie(5, lie))
    honest = court.executions(1)
    court.notarise(lying)
    stores = [stored(tmp_path / "liar", court, lying), stored(tmp_path / "honest", court, honest)]
    truth = state_root(court.truth(court.calls)[6])
    challenger = court.wallet(HONEST)
    bond_funds = Transfer(challenger.address, 2 * COURT.bond, Denom.FLX)
    assert court.send(OWNER, bond_funds) == OK
    assert court.send(challenger, open_message(lying[5].receipt, truth, from_start=True)) == OK
    players, sent = nodes(court, stores, answers=answers, honest_rules=honest_rules)
    settle(court, players, sent)
    for store in stores:
        store.close()
    ruled = court.dispute()
    assert ruled.status is Status.CHALLENGER_WON
    assert (ruled.lo, ruled.hi) == (5, 5) and ruled.turns >= 2
    assert ruled.sides == (court.address(LIAR), Address.from_public_key(court.keys[1].public_key))
    return ruled


@pytest.mark.parametrize(
    ("lie", "named"),
    # A forged read is named at the counter's read (step 0); a wrong root after the counter's
    # three host calls, at the end.
    [("read", (0, "host call")), ("root", (3, "state root after"))],
)
def test_two_nodes_play_a_dispute_to_its_ruling(
    tmp_path: Path, lie: str, named: tuple[int, str]
) -> None:
    ruled = play(tmp_path, lie)
    assert ruled.ruling is not None
    assert (ruled.ruling.step, ruled.ruling.what) == named


def test_a_liar_that_withholds_its_witness_still_loses(tmp_path: Path) -> None:
    """Without the liar's witness the winner asks after `evidence_wait_blocks`, and the ruling
    can name only the end of the run, where the roots differ."""
    ruled = play(tmp_path, "read", answers=False)
    assert ruled.ruling is not None
    assert (ruled.ruling.step, ruled.ruling.what) == (3, "state root after")


def test_a_losing_node_concedes_with_its_own_witness(tmp_path: Path) -> None:
    """With the winner's request for the ruling lost, the loser's node (an executor that went
    wrong, not one built to lie) asks after `concede_blocks`, with its own receipt and witness,
    so the dispute is decided and the ruling names the step."""
    assert node_court.concede_blocks > node_court.evidence_wait_blocks
    ruled = play(tmp_path, "read", honest_rules=False)
    assert ruled.ruling is not None
    assert (ruled.ruling.step, ruled.ruling.what) == (0, "host call")


def test_evidence_nobody_asked_for_or_not_the_senders_is_dropped_or_blamed(
    tmp_path: Path,
) -> None:
    court = Court(calls=1)
    runs = court.executions(0)
    store = stored(tmp_path / "store", court, runs)
    player = CourtPlayer(court.address(HONEST), store, lambda message: None, lambda *_: None)
    frame = player.evidence(APP, 0)
    assert frame is not None and player.evidence(APP, 1) is None
    assert player.on_evidence(court.address(LIAR), frame) is None  # not asked: ignored
    player._due[0] = node_court.Due(0, (), b"", True, (APP, 0, court.address(LIAR)))
    assert player.on_evidence(court.address(LIAR), Evidence(APP, 0, b"\x01")) == (
        "evidence_malformed"
    )
    store.close()


def test_a_watching_replica_challenges_an_output_lie_once_and_wins(tmp_path: Path) -> None:
    """`[court] watch`: the honest replica sees the liar's receipt of call 5, whose output
    alone is false, notarised without its own, challenges it with its own receipt once (again
    if the transaction was lost), and both nodes play the dispute to the ruling; a node not
    watching challenges nothing."""
    court = Court(calls=6)
    lying = court.executions(LIAR, Lie(5, "output"))
    honest = court.executions(HONEST)
    court.notarise(lying)
    stores = [stored(tmp_path / "liar", court, lying), stored(tmp_path / "honest", court, honest)]
    bond_funds = Transfer(court.address(HONEST), 2 * COURT.bond, Denom.FLX)
    assert court.send(OWNER, bond_funds) == OK
    notarised = [(APP, seq, bundle.receipt) for seq, bundle in enumerate(lying)]
    reader, height = court.chain.state.reader, court.chain.state.height
    idle, idle_sent = nodes(court, stores)
    for player in idle:
        player.challenge_false(reader, height, notarised)
    assert idle_sent == []
    players, sent = nodes(court, stores, watch=True)
    for player in players:
        player.challenge_false(reader, height, notarised)
    assert [(index, type(message)) for index, message in sent] == [(HONEST, ChallengeReceipt)]
    # The transaction is lost: nothing more until `resend_blocks` later, then it is sent again.
    lost = sent.pop()[1]
    for _block in range(node_court.resend_blocks):
        court.run([])
        for player in players:
            player.on_committed(court.chain.state.reader, court.chain.state.height)
    assert sent == [(HONEST, lost)]
    court.run([court.tx(court.wallet(HONEST), sent.pop()[1])])
    opened = court.dispute()
    assert (opened.kind, opened.status, opened.lo) == (Kind.CHALLENGE, Status.RULING_DUE, 5)
    for player in players:
        player.challenge_false(court.chain.state.reader, court.chain.state.height, notarised)
    assert sent == []  # once per receipt
    settle(court, players, sent)
    for store in stores:
        store.close()
    ruled = court.dispute()
    assert ruled.status is Status.CHALLENGER_WON
    assert ruled.ruling is not None
    assert (ruled.ruling.step, ruled.ruling.what) == (3, "output")


class CountingReader:
    """The chain's own reader, counting the LogBlock records read through it."""

    def __init__(self, reader: StateReader) -> None:
        self.reader = reader
        self.logblocks_read = 0

    def get(self, key: bytes) -> bytes | None:
        self.logblocks_read += key.startswith(notary_keys.LOGBLOCK)
        return self.reader.get(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)


def test_a_watching_replica_reads_no_logblock_for_receipts_that_agree(tmp_path: Path) -> None:
    """Checking a LogBlock's receipts against its own at each commit reads the LogBlock only
    for one that differs: decoding and hashing it for each of up to 512 receipts held a
    loaded node's event loop at commit (docs/performance.md)."""
    court = Court(calls=6)
    honest = court.executions(HONEST)
    court.notarise(honest)
    stores = [stored(tmp_path / "a", court, honest), stored(tmp_path / "b", court, honest)]
    notarised = [(APP, seq, bundle.receipt) for seq, bundle in enumerate(honest)]
    players, sent = nodes(court, stores, watch=True)
    reader = CountingReader(court.chain.state.reader)
    for player in players:
        player.challenge_false(reader, court.chain.state.height, notarised)  # type: ignore[arg-type]
    assert sent == [] and reader.logblocks_read == 0
    for store in stores:
        store.close()
