"""The court on a real network: two validators execute the counter's calls as its two replicas,
one of them made to lie in every receipt (`[testing] executor_lie`, node/misbehaviour.py).
The notaries' LogBlock shows the replicas disagreeing, the chain opens the dispute, both nodes
play it without anyone at the keyboard (node/court.py: reveal, ruling), every validator
replays the call, and the liar loses: the ruling names the call and the witness step, its
stake falls by the slashing fraction, the honest executor is paid its share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from metanode.consensus.real_suite import ValidatorKeys
from metanode.node import home as dev_home
from metanode.node import keys
from metanode.state.court.params import DEFAULT as COURT
from metanode.types import Address, CallApp, DeployApp, Transaction
from tests.node.cluster import Cluster
from tests.state.test_notary import APP, COUNTER, FUEL_LIMIT, FUEL_PRICE

COIN = 10**9
STAKE = dev_home.validator_stake_coins * COIN


@pytest.mark.slow
@pytest.mark.parametrize("lie", ["state_root", "output"])
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
        key = cluster.dev_keys()[0]
        messages = [
            DeployApp(COUNTER, 2, FUEL_PRICE, FUEL_LIMIT),
            CallApp(APP, 0, "increment", b"", FUEL_LIMIT),
        ]
        txs = []
        for nonce, message in enumerate(messages):
            tx = Transaction(dev_home.DEV_CHAIN_ID, key.public_key, nonce, 1_000, 10_000, message)
            txs.append(tx.with_signature(key.sign(tx.signing_message())))
        assert all(answer["accepted"] for answer in cluster.submit("v0", txs))

        def ruled() -> dict[str, Any] | None:
            answer = cluster.client.get(cluster.url("v0") + "/api/v1/disputes/0")
            found: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
            return found if found.get("ruling") is not None else None

        cluster.wait(lambda: ruled() is not None, 120, "the dispute's ruling")
        dispute = ruled()
        assert dispute is not None
        assert (dispute["kind"], dispute["call_seq"]) == ("replicas", 0)
        assert {dispute["defender"], dispute["challenger"]} == {liar, honest}
        won = "defender_won" if dispute["defender"] == honest else "challenger_won"
        assert dispute["status"] == won
        # The counter makes three host calls: the false root or output is past the last one.
        assert dispute["ruling"]["step"] == 3
        slashed = STAKE * COURT.slash_fraction_ppm // 1_000_000
        share = slashed * COURT.challenger_share_ppm // 1_000_000
        assert _gen(cluster, honest) == gen_before + share
        cluster.wait(
            lambda: _power(cluster, liar) == (STAKE - slashed) // COIN, 30, "the liar's new power"
        )
        assert _power(cluster, honest) == STAKE // COIN
    finally:
        cluster.stop_all()


def _validator_key(cluster: Cluster, name: str) -> ValidatorKeys:
    path = cluster.home / "nodes" / name / "validator.key"
    return keys.read_validator(path, dev_home.DEV_PASSWORD)


def _gen(cluster: Cluster, address: str) -> int:
    return int(cluster.get("v0", f"/api/v1/accounts/{address}")["balances"].get("GEN", 0))


def _power(cluster: Cluster, address: str) -> int:
    validators = cluster.get("v0", "/api/v1/validators")["validators"]
    return int(next(item["power"] for item in validators if item["address"] == address))
