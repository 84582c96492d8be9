"""node/court.py: two executor nodes' automatic play, each from its own real LMDB executor
store, against the in-memory chain of tests/state/test_court.py: the honest replica
challenges the liar's last receipt from the app's first call, both bisect by turns without a
person choosing a root, and the honest one asks for the ruling and wins."""

from __future__ import annotations

from pathlib import Path

from metanode.docklock.receipt import Bundle, state_root
from metanode.executor.store import ExecutorStore
from metanode.node.court import CourtPlayer
from metanode.state.codes import OK
from metanode.state.court.params import DEFAULT as COURT
from metanode.state.court.records import Status
from metanode.types import Address, Denom, Transfer
from metanode.types.messages import Message
from tests.state.test_court import APP, OWNER, Court, Lie, open_message


def stored(path: Path, court: Court, runs: list[Bundle]) -> ExecutorStore:
    """An executor's store holding `runs` as it would after executing them."""
    store = ExecutorStore.open(path)
    truth = court.truth(court.calls)
    with store.writing() as writer:
        for seq, bundle in enumerate(runs):
            signed = (bundle.receipt, bundle.output, bundle.logs())
            writer.commit(APP, seq, truth[seq], truth[seq + 1], signed)
    return store


def test_two_nodes_play_a_dispute_to_its_ruling(tmp_path: Path) -> None:
    court = Court(calls=6)
    lying = court.executions(0, Lie(5, "root"))
    honest = court.executions(1)
    court.notarise(lying)
    stores = [stored(tmp_path / "liar", court, lying), stored(tmp_path / "honest", court, honest)]
    truth = state_root(court.truth(court.calls)[6])
    challenger = court.wallet(1)
    bond_funds = Transfer(challenger.address, 2 * COURT.bond, Denom.FLX)
    assert court.send(OWNER, bond_funds) == OK
    assert court.send(challenger, open_message(lying[5].receipt, truth, from_start=True)) == OK
    sent: list[tuple[int, Message]] = []
    players = [
        CourtPlayer(
            court.address(index), stores[index], lambda message, i=index: sent.append((i, message))
        )
        for index in (0, 1)
    ]
    for _block in range(20):
        if not court.dispute().status.is_open:
            break
        reader, height = court.chain.state.reader, court.chain.state.height
        for player in players:
            player.on_committed(reader, height)
        txs = [court.tx(court.wallet(index), message) for index, message in sent]
        sent.clear()
        court.run(txs)
    ruled = court.dispute()
    assert ruled.status is Status.CHALLENGER_WON
    assert (ruled.lo, ruled.hi) == (5, 5) and ruled.turns >= 2
    assert ruled.sides == (court.address(0), Address.from_public_key(court.keys[1].public_key))
    for store in stores:
        store.close()
