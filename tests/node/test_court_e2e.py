"""The court on a real network: two validators execute the counter's calls as its two replicas,
one of them made to lie in every receipt (`[testing] executor_lie`, node/misbehaviour.py: a
wrong output, a wrong root, a dropped write, a forged read, another call's result copied).
The notaries' LogBlock shows the replicas disagreeing, the chain opens the dispute, both nodes
play it without anyone at the keyboard (node/court.py: reveal; the honest node fetches the
liar's witness and asks for the ruling with it), every validator replays the call, and the
liar loses: the ruling names the call and the witness step where the lie is, its
stake falls by the slashing fraction, the honest executor is paid its share. A LogBlock naming
a call never made is refused even signed by the whole committee, and a false receipt that was
notarised (a lone replica) loses its PoE mint when a challenger wins. A replica left out of
the LogBlock challenges a notarised output lie on its own (`[court] watch`), and so does a
node never drawn that follows the app (`[court] watch_apps`)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from metanode.consensus.real_suite import ValidatorKeys
from metanode.crypto import bls, ed25519, merkle
from metanode.docklock.appstate import state_root
from metanode.docklock.executor import execute
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.state.court.params import DEFAULT as COURT
from metanode.types import Address, CallApp, DeployApp, LogBlock, SubmitLogBlock, Transaction
from metanode.types.messages import Message
from tests.cli.test_apps_cli import COUNTER as COUNTER_WAT
from tests.cli.test_apps_cli import bpi
from tests.node.cluster import Cluster, tiny_second_validator
from tests.state.test_notary import APP, COUNTER, FUEL_LIMIT, FUEL_PRICE

COIN = 10**9
STAKE = dev_home.validator_stake_coins * COIN


# Where each lie is named: the counter makes three host calls (read, write, log); a lie in
# the result alone diverges after them, at step 3, with what differs there; a forged read and
# a copy of the call before (whose read saw the count before it) at the read, step 0.
NAMED = {
    "state_root": (3, "state root after"),
    "output": (3, "output"),
    "dropped_write": (3, "state root after"),
    "forged_read": (0, "host call"),
    "copied": (0, "host call"),
}


@pytest.mark.slow
@pytest.mark.parametrize("lie", sorted(NAMED))
def test_a_lying_executor_is_caught_and_slashed(tmp_path: Path, lie: str) -> None:
    cluster = Cluster(tmp_path / "net", validators=2)
    liar_config = cluster.home / "nodes" / "v1" / "config.toml"
    liar_config.write_text(liar_config.read_text() + f'\n[testing]\nexecutor_lie = "{lie}"\n')
    cluster.start_all()
    try:
        cluster.wait_height(2)
        liar = str(Address.from_public_key(_validator_key(cluster, "v1").public_key))
        honest = str(Address.from_public_key(_validator_key(cluster, "v0").public_key))
        gen_before = _gen(cluster, honest)
        # The copy needs a call before the one it lies about.
        disputed = 1 if lie == "copied" else 0
        calls = [CallApp(APP, 0, "increment", b"", FUEL_LIMIT)] * (disputed + 1)
        submitted = _send(cluster, 0, [DeployApp(COUNTER, 2, FUEL_PRICE, FUEL_LIMIT), *calls])
        assert all(answer["accepted"] for answer in submitted)

        dispute = _ruled(cluster)
        assert (dispute["kind"], dispute["call_seq"]) == ("replicas", disputed)
        assert {dispute["defender"], dispute["challenger"]} == {liar, honest}
        won = "defender_won" if dispute["defender"] == honest else "challenger_won"
        assert dispute["status"] == won
        # The honest node fetched the liar's receipt and witness over P2P (WANT/EVIDENCE
        # frames) and brought them as evidence, so the ruling names the step where the lie is.
        assert (dispute["ruling"]["step"], dispute["ruling"]["what"]) == NAMED[lie]
        _check_slashed_and_paid(cluster, liar, honest, gen_before)
        assert _power(cluster, honest) == STAKE // COIN
        # Both receipts were in the LogBlock: the notaries' dispute covers the call, and
        # neither node's `[court] watch` challenged on top of it.
        assert all("court challenge" not in cluster.log(name) for name in ("v0", "v1"))
    finally:
        cluster.stop_all()


@pytest.mark.slow
def test_a_left_out_replica_challenges_a_notarised_output_lie_on_its_own(tmp_path: Path) -> None:
    """v1 lies in its output alone (its state root is right); v0, the other replica, executes
    honestly but is never heard (`[testing] silent_executor`), so the notaries notarise v1's
    receipt alone. v0's `[court] watch` (on by default) sees it differ from its own receipt and
    challenges it with that receipt (ChallengeReceipt) without anyone at the keyboard; both
    nodes play the dispute, and the challenger wins: the ruling names the output, the liar is
    slashed, the challenger paid its share."""
    cluster = Cluster(tmp_path / "net", validators=2)
    sections = {
        "v0": "[testing]\nsilent_executor = true",
        "v1": '[testing]\nexecutor_lie = "output"',
    }
    _an_output_lie_is_challenged(cluster, sections, "v1", "v0", replicas=2)


@pytest.mark.slow
def test_a_watcher_never_drawn_catches_a_notarised_output_lie(tmp_path: Path) -> None:
    """v0 is the counter's only replica (replicas = 1; v1 stakes a thousandth of v0, so the
    draw, weighted by power, picks v0) and lies in its output alone, so its receipt is
    notarised unopposed. v1, never drawn, follows the app (`[court] watch_apps = "all"`): it
    runs the calls from the blocks, signs receipts it never publishes, and challenges the
    notarised lie with its own (ChallengeReceipt); the dispute is played and v1 wins."""
    cluster = Cluster(tmp_path / "net", validators=2)
    cluster.edit_genesis(tiny_second_validator)
    watcher = cluster.home / "nodes" / "v1" / "config.toml"
    watcher.write_text(watcher.read_text().replace("watch_apps = []", 'watch_apps = "all"'))
    sections = {"v0": '[testing]\nexecutor_lie = "output"'}
    _an_output_lie_is_challenged(cluster, sections, "v0", "v1", replicas=1)


def _an_output_lie_is_challenged(
    cluster: Cluster, sections: dict[str, str], liar_name: str, challenger_name: str, replicas: int
) -> None:
    """With these config sections added, the counter deployed with `replicas` and called once:
    `challenger_name`'s node challenges the notarised output lie of `liar_name`'s with its own
    receipt and wins; the ruling names the output, the liar is slashed, the challenger paid.
    The one LogBlock holds the liar's receipt alone."""
    for name, section in sections.items():
        config = cluster.home / "nodes" / name / "config.toml"
        config.write_text(config.read_text() + f"\n{section}\n")
    cluster.start_all()
    try:
        cluster.wait_height(2)
        liar = str(Address.from_public_key(_validator_key(cluster, liar_name).public_key))
        challenger = str(
            Address.from_public_key(_validator_key(cluster, challenger_name).public_key)
        )
        gen_before = _gen(cluster, challenger)
        call = CallApp(APP, 0, "increment", b"", FUEL_LIMIT)
        deploy = DeployApp(COUNTER, replicas, FUEL_PRICE, FUEL_LIMIT)
        assert all(answer["accepted"] for answer in _send(cluster, 0, [deploy, call]))

        dispute = _ruled(cluster)
        assert (dispute["kind"], dispute["call_seq"]) == ("challenge", 0)
        assert (dispute["defender"], dispute["challenger"]) == (liar, challenger)
        assert dispute["status"] == "challenger_won"
        assert (dispute["ruling"]["step"], dispute["ruling"]["what"]) == NAMED["output"]
        _check_slashed_and_paid(cluster, liar, challenger, gen_before)
        (logblock,) = cluster.get("v0", f"/api/v1/logblocks?app={APP.hex()}")["logblocks"]
        assert logblock["leaves"] == 1
        assert "court challenge" in cluster.log(challenger_name)
    finally:
        cluster.stop_all()


@pytest.mark.slow
def test_a_receipt_for_a_call_that_never_happened_is_refused(tmp_path: Path) -> None:
    """Even the whole notary committee signing it cannot put a receipt for a call that was
    never made on chain: the LogBlock naming it is refused (`notary.call_unknown`), and
    nothing is minted or paid for it."""
    cluster = Cluster(tmp_path / "net", validators=2)
    cluster.start_all()
    try:
        cluster.wait_height(2)
        deploy = DeployApp(COUNTER, 2, FUEL_PRICE, FUEL_LIMIT)
        call = CallApp(APP, 0, "increment", b"", FUEL_LIMIT)
        assert all(answer["accepted"] for answer in _send(cluster, 0, [deploy, call]))
        cluster.wait(lambda: _logblocks(cluster) == [(0, 0)], 60, "call 0's LogBlock")
        liar = _validator_key(cluster, "v1")
        executor = ed25519.PrivateKey.from_seed(liar.ed25519_seed)
        address = str(Address.from_public_key(liar.public_key))
        nex_before = _balance(cluster, address, "NEX")
        # The liar's receipt for call 1, run on call 0's true end state: no call 1 was made,
        # so no block fixes its time or seed, and the liar makes them up.
        state = {b"count": (1).to_bytes(8, "little")}
        bundle, _after = execute(
            COUNTER, "increment", b"", state, executor, block_time=0, seed=bytes(32),
            fuel=FUEL_LIMIT,
        )  # fmt: skip
        leaf = bundle.receipt.leaf(1, len(bundle.output), 13)
        root = merkle.root_from_leaf_hashes([leaf.receipt_hash])
        unsigned = LogBlock(APP, 1, 1, 1, root, (leaf,))
        signatures = [
            bls.PrivateKey.from_bytes(_validator_key(cluster, name).bls_secret).sign(
                unsigned.signing_message()
            )
            for name in ("v0", "v1")
        ]
        # Both validators are the committee: bits 0 and 1, whatever their order.
        signed = replace(unsigned, signers=b"\x03", aggregate=bls.aggregate_signatures(signatures))
        (answer,) = _send(cluster, 1, [SubmitLogBlock(signed)])
        assert answer["accepted"]

        def result() -> dict[str, Any] | None:
            found: dict[str, Any] = cluster.get("v0", f"/api/v1/txs/{answer['hash']}")
            return found if found["committed"] else None

        cluster.wait(lambda: result() is not None, 30, "the LogBlock transaction's block")
        refused = result()
        assert refused is not None and refused["status"] == "failed"
        assert refused["receipt"]["code_name"] == "notary.call_unknown"
        assert _logblocks(cluster) == [(0, 0)]
        assert _balance(cluster, address, "NEX") == nex_before
    finally:
        cluster.stop_all()


def _ruled(cluster: Cluster) -> dict[str, Any]:
    """Dispute 0, once it has its ruling."""

    def ruled() -> dict[str, Any] | None:
        answer = cluster.client.get(cluster.url("v0") + "/api/v1/disputes/0")
        found: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
        return found if found.get("ruling") is not None else None

    cluster.wait(lambda: ruled() is not None, 180, "the dispute's ruling")
    dispute = ruled()
    assert dispute is not None
    return dispute


def _check_slashed_and_paid(cluster: Cluster, liar: str, honest: str, gen_before: int) -> None:
    """The liar's stake fell by the slashing fraction and the honest side was paid its share."""
    slashed = STAKE * COURT.slash_fraction_ppm // 1_000_000
    share = slashed * COURT.challenger_share_ppm // 1_000_000
    assert _gen(cluster, honest) == gen_before + share
    cluster.wait(
        lambda: _power(cluster, liar) == (STAKE - slashed) // COIN, 30, "the liar's new power"
    )


def _send(cluster: Cluster, key_index: int, messages: list[Message]) -> list[dict[str, Any]]:
    key = cluster.dev_keys()[key_index]
    txs = []
    for nonce, message in enumerate(messages):
        tx = Transaction(dev_home.DEV_CHAIN_ID, key.public_key, nonce, 1_000, 10_000, message)
        txs.append(tx.with_signature(key.sign(tx.signing_message())))
    return cluster.submit("v0", txs)


def _logblocks(cluster: Cluster) -> list[tuple[int, int]]:
    page = cluster.get("v0", f"/api/v1/logblocks?app={APP.hex()}")["logblocks"]
    return [(item["first_seq"], item["last_seq"]) for item in page]


def _balance(cluster: Cluster, address: str, denom: str) -> int:
    return int(cluster.get("v0", f"/api/v1/accounts/{address}")["balances"].get(denom, 0))


def _validator_key(cluster: Cluster, name: str) -> ValidatorKeys:
    path = cluster.home / "nodes" / name / "validator.key"
    return keys.read_validator(path, dev_home.DEV_PASSWORD)


def _gen(cluster: Cluster, address: str) -> int:
    return _balance(cluster, address, "GEN")


def _power(cluster: Cluster, address: str) -> int:
    validators = cluster.get("v0", "/api/v1/validators")["validators"]
    return int(next(item["power"] for item in validators if item["address"] == address))


@pytest.mark.slow
def test_a_notarised_false_receipt_loses_its_mint(tmp_path: Path) -> None:
    """One validator, the counter's only replica, lies alike in every receipt, so its false
    receipt is notarised and minted for; a challenger with the true root wins the ruling the
    liar's own node asks for, and the NEX minted for the false receipt is burned back."""
    cluster = Cluster(tmp_path / "net", validators=1)
    config = cluster.home / "nodes" / "v0" / "config.toml"
    config.write_text(config.read_text() + '\n[testing]\nexecutor_lie = "state_root"\n')
    cluster.start_all()
    try:
        cluster.wait_height(1)
        module = tmp_path / "counter.wat"
        module.write_text(COUNTER_WAT.read_text())
        (tmp_path / "app.toml").write_text("[app]\nreplicas = 1\nfuel_limit = 100000\n")
        liar = str(Address.from_public_key(_validator_key(cluster, "v0").public_key))
        genesis_nex = _balance(cluster, liar, "NEX")
        app_id = bpi(cluster, "deploy", str(module))["app"]
        receipt = bpi(cluster, "call", app_id, "increment", "--wait", "--wait-s", "60")["receipt"]
        nex_after_mint = _balance(cluster, liar, "NEX")
        assert nex_after_mint > genesis_nex  # minted for the false receipt
        claim = state_root({b"count": (1).to_bytes(8, "little")}).hex()
        assert bpi(cluster, "dispute", "open", receipt, "--claim", claim)["dispute"] == 0
        cluster.wait(
            lambda: cluster.get("v0", "/api/v1/disputes/0")["status"] == "challenger_won",
            60,
            "the challenger's ruling",
        )
        # Its only leaf in its LogBlock: the whole mint was the false receipt's.
        minted = nex_after_mint - genesis_nex
        assert _balance(cluster, liar, "NEX") == genesis_nex
        shown = bpi(cluster, "dispute", "show", "0")["clawback"]
        assert (shown["receipt"], shown["outcome"]) == (receipt, "clawed_back")
        assert (shown["burned_base_units"], shown["short_base_units"]) == (minted, 0)
    finally:
        cluster.stop_all()
