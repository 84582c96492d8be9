"""The simulator with the real Ed25519, BLS12-381 and ECVRF in every engine."""

from __future__ import annotations

import hashlib

import pytest

from metanode.consensus.real_suite import RealSuite, ValidatorKeys
from metanode.crypto import bls
from metanode.testing.simulator import run_many


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
def test_one_hundred_scenarios_with_real_signatures() -> None:
    run(100, 12)
