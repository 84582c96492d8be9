"""The misbehaviour harnesses (node/misbehaviour.py): the equivocating prepare and the lying
executor, what each signs, and where they are refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metanode.consensus.real_suite import RealSuite
from metanode.crypto import ed25519
from metanode.docklock import replay
from metanode.docklock.appstate import state_root
from metanode.docklock.executor import execute
from metanode.errors import ConfigError
from metanode.node import config as node_config
from metanode.node import keys, misbehaviour
from metanode.types import Address
from metanode.types.vote import Kind, Signed
from tests.state.test_notary import COUNTER

HARNESS = node_config.Testing(double_prepare_heights=[5, 7])
SEED = bytes(range(32))


def test_the_twin_prepare_conflicts_and_is_signed_by_the_node() -> None:
    node_keys = keys.new_validator_keys()
    suite = RealSuite(node_keys)
    me = Address.from_public_key(node_keys.public_key)
    unsigned = Signed(Kind.PREPARE, 5, 0, os.urandom(32), None, b"", me)
    signed = Signed(
        Kind.PREPARE, 5, 0, unsigned.digest, None, b"", me, suite.sign(unsigned.signing_message())
    )
    twin = misbehaviour.double_prepare(HARNESS, suite, signed)
    assert twin is not None and twin.slot == signed.slot and twin.digest != signed.digest
    ed25519.verify(node_keys.public_key, twin.signing_message(), twin.signature)
    assert misbehaviour.double_prepare(HARNESS, suite, _at(signed, 6)) is None
    commit = Signed(Kind.COMMIT, 5, 0, signed.digest, None, b"seal", me, b"")
    assert misbehaviour.double_prepare(HARNESS, suite, commit) is None


def _at(signed: Signed, height: int) -> Signed:
    return Signed(signed.kind, height, signed.round, signed.digest, None, b"", signed.signer)


@pytest.mark.parametrize("kind", ["testnet", "mainnet"])
def test_the_harness_is_refused_on_any_chain_but_a_dev_chain(kind: str) -> None:
    with pytest.raises(ConfigError, match=f"refused on a {kind} chain"):
        misbehaviour.check_allowed(HARNESS, kind)
    misbehaviour.check_allowed(HARNESS, "dev")
    misbehaviour.check_allowed(node_config.Testing(), kind)  # unset: nothing to refuse


@pytest.mark.parametrize("harness", ["silent_executor", "withhold_gossip"])
def test_a_switched_harness_is_refused_on_any_chain_but_a_dev_chain(harness: str) -> None:
    switched = node_config.Testing(**{harness: True})
    with pytest.raises(ConfigError, match=rf"\[testing\] {harness} .* testnet"):
        misbehaviour.check_allowed(switched, "testnet")
    misbehaviour.check_allowed(switched, "dev")


def test_the_harness_round_trips_through_the_config_file_and_is_absent_by_default(
    tmp_path: Path,
) -> None:
    plain = node_config.NodeConfig(
        name="v0",
        p2p=node_config.P2P(listen=node_config.Endpoint(port=26600)),
        api=node_config.Api(listen=node_config.Endpoint(port=8600)),
    )
    assert "[testing]" not in node_config.to_toml(plain)
    path = tmp_path / "config.toml"
    path.write_text(node_config.to_toml(plain.model_copy(update={"testing": HARNESS})))
    assert node_config.load(path).testing.double_prepare_heights == [5, 7]
    path.write_text(node_config.to_toml(plain) + "\n[testing]\ndouble_prepare_heights = [0]\n")
    with pytest.raises(ConfigError, match=r"testing\.double_prepare_heights"):
        node_config.load(path)


@pytest.mark.parametrize("lie", ["output", "state_root", "dropped_write", "forged_read", "copied"])
def test_each_executor_lie_signs_a_receipt_the_replay_contradicts(lie: str) -> None:
    key = ed25519.PrivateKey.generate()
    liar = misbehaviour.Liar(lie, key)
    first = {b"count": (3).to_bytes(8, "little")}
    earlier, before = execute(COUNTER, "increment", b"", first, key, block_time=6, seed=SEED)
    assert liar(earlier).receipt.hash() == earlier.receipt.hash() or lie != "copied"
    honest, after = execute(COUNTER, "increment", b"", before, key, block_time=7, seed=SEED)
    lied = liar(honest)
    receipt = lied.receipt
    receipt.verify_signature()
    assert receipt.result_hash() != honest.receipt.result_hash()
    assert (receipt.state_root_before, receipt.seed) == (state_root(before), SEED)
    verdict = replay.replay(lied)
    assert verdict.step is not None
    if lie == "dropped_write":
        # The counter's one write dropped: the state it claims is the one before.
        assert receipt.state_root_after == state_root(before) != state_root(after)
    if lie == "forged_read":
        # Its witness records the forged read, which the true state before contradicts.
        assert lied.witness[0].result == (99).to_bytes(8, "little")
        assert (verdict.step, verdict.what) == (0, "host call")
    if lie == "copied":
        # The call before's result, and its read of the count before it, as this call's.
        assert receipt.result_hash() == earlier.receipt.result_hash()
        assert (verdict.step, verdict.what) == (0, "host call")
