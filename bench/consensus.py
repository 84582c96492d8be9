"""Consensus engine throughput and certificate verification, with the real Ed25519, BLS and VRF.

heights_per_s_N: N engines on an in-process network with no delay, loss or faults (the
simulator with every fault switched off), committing heights as fast as the CPU allows; wall
time over simulated heights. cert_verify_us_N: verifying one commit certificate of N signers
with the validators' keys already known (one fast-aggregate-verify), best of several runs.

Last line: heights_per_s_4=… heights_per_s_64=… cert_verify_us_4=… cert_verify_us_100=…
"""

from __future__ import annotations

import hashlib
import sys
import time

from metanode.consensus.certificate import build_certificate, verify_certificate
from metanode.consensus.messages import Kind, Signed, commit_seal_message
from metanode.consensus.real_suite import RealSuite, ValidatorKeys
from metanode.consensus.validators import Validator, ValidatorSet
from metanode.crypto import bls
from metanode.testing.simulator import Scenario, Simulation
from metanode.types import Address


def keys_for(name: str) -> ValidatorKeys:
    def seed(label: str) -> bytes:
        return hashlib.sha256(f"{label}/{name}".encode()).digest()

    return ValidatorKeys(
        seed("ed25519"), bls.PrivateKey.keygen(seed("bls")).to_bytes(), seed("vrf")
    )


def real_suites(name: str):
    keys = keys_for(name)
    return RealSuite(keys), keys.public_key, keys.bls_public_key, keys.vrf_public_key


def heights_per_second(validators: int, heights: int) -> float:
    scenario = Scenario(
        seed=1,
        validators=validators,
        byzantine=0,
        loss=0.0,
        duplicate=0.0,
        delay_max_ms=0,
        partitions=(),
        crashes=(),
        heal_ms=0,
        liveness_heights=heights,
        liveness_bound_ms=10**9,
    )
    simulation = Simulation(scenario, real_suites, RealSuite(None))
    started = time.perf_counter()
    outcome = simulation.run()
    elapsed = time.perf_counter() - started
    assert not outcome.safety_violations and outcome.liveness_failure is None, outcome
    return outcome.heights / elapsed


def certificate_verify_us(signers: int, repeats: int = 20) -> float:
    members = []
    for index in range(signers):
        keys = keys_for(f"cert{index}")
        members.append((keys, RealSuite(keys)))
    validators = ValidatorSet.of(
        [
            Validator(
                Address.from_public_key(k.public_key),
                1,
                k.public_key,
                k.bls_public_key,
                k.vrf_public_key,
            )
            for k, _ in members
        ]
    )
    digest = bytes(32)
    commits = []
    for keys, suite in members:
        address = Address.from_public_key(keys.public_key)
        seal = suite.seal(commit_seal_message(1, 0, digest))
        commits.append(Signed(Kind.COMMIT, 1, 0, digest, None, seal, address, bytes(64)))
    observer = RealSuite(None)
    certificate = build_certificate(commits, validators, observer)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        verify_certificate(certificate, digest, validators, observer)
        best = min(best, time.perf_counter() - started)
    return best * 1e6


def main() -> None:
    quick = "--quick" in sys.argv
    h4 = heights_per_second(4, 20 if quick else 100)
    h64 = heights_per_second(64, 2 if quick else 5)
    c4 = certificate_verify_us(4)
    c100 = certificate_verify_us(100)
    print(f"4 validators: {h4:.1f} heights/s; 64 validators: {h64:.2f} heights/s")
    print(f"certificate verification: 4 signers {c4:.0f} us, 100 signers {c100:.0f} us")
    print(
        f"heights_per_s_4={h4:.1f} heights_per_s_64={h64:.2f} "
        f"cert_verify_us_4={c4:.0f} cert_verify_us_100={c100:.0f}"
    )


if __name__ == "__main__":
    main()
