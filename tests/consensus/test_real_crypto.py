"""The simulator with the real Ed25519, BLS12-381 and ECVRF in every engine."""

from __future__ import annotations

import hashlib

import pytest

from metanode.consensus.real_suite import RealSuite, ValidatorKeys
from metanode.crypto import bls
from metanode.testing.simulator import run_many
from tests.consensus import SCENARIOS_TIMEOUT_S


def real_suites(name: str):
    def seed(label: str) -> bytes:
        return hashlib.sha256(f"{label}/{name}".encode()).digest()

    bls_secret = bls.PrivateKey.keygen(seed("bls")).to_bytes()
    keys = ValidatorKeys(seed("ed25519"), bls_secret, seed("vrf"))
    return RealSuite(keys), keys.public_key, keys.bls_public_key, keys.vrf_public_key


def run(count: int, seed: int) -> None:
    summary = run_many(count, seed, (4, 7), None, real_suites, RealSuite(None))
    failures = [
        (o.scenario.describe(), o.safety_violations, o.liveness_failure) for o in summary.failures
    ]
    assert summary.safety_violations == 0, failures
    assert summary.liveness_failures == 0, failures
    assert summary.heights >= count * 3


def test_scenarios_with_real_signatures() -> None:
    run(6, 11)


@pytest.mark.slow
@pytest.mark.timeout(SCENARIOS_TIMEOUT_S)
def test_one_hundred_scenarios_with_real_signatures() -> None:
    run(100, 12)


def test_a_vrf_proof_kept_for_its_input_is_never_given_for_another() -> None:
    suite, _, _, vrf_public_key = real_suites("kept")
    alphas = [b"height 1", b"height 2", b"height 2", b"height 1", b"height 3", b"height 3"]
    proofs = [suite.vrf_prove(alpha) for alpha in alphas]
    fresh = real_suites("kept")[0]  # a suite that has kept nothing
    assert proofs == [fresh.vrf_prove(alpha) for alpha in alphas]
    for alpha, proof in zip(alphas, proofs, strict=True):
        assert suite.vrf_verify(vrf_public_key, alpha, proof) is not None
    assert len(set(proofs)) == 3
