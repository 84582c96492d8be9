"""All 914 CCTV Ed25519 edge cases against our pinned rule: accept exactly the vectors whose
only flags are low_order_component_A/R (mixed-order points whose torsion cancels), reject the
rest (docs/decisions/ed25519-rule.md)."""

from __future__ import annotations

from typing import Any

import pytest

from metanode.crypto import ed25519
from metanode.crypto.verifiers import BatchVerifier
from metanode.errors import VerificationError
from tests.conftest import load_vectors

# Both implementations of the rule, the compiled core and the reference (metanode.core).
pytestmark = pytest.mark.usefixtures("core_choice")

VECTORS = load_vectors("cctv-ed25519/ed25519vectors.json")
ACCEPTED_FLAGS = {"low_order_component_A", "low_order_component_R"}


def test_all_914_cases_are_present() -> None:
    assert len(VECTORS) == 914


@pytest.mark.parametrize("case", VECTORS, ids=[f"cctv-{case['number']}" for case in VECTORS])
def test_cctv_case(case: dict[str, Any]) -> None:
    key, signature = bytes.fromhex(case["key"]), bytes.fromhex(case["sig"])
    message = case["msg"].encode()
    expected = set(case["flags"] or []) <= ACCEPTED_FLAGS
    assert ed25519.is_valid(key, message, signature) is expected
    if not expected:
        with pytest.raises(VerificationError):
            ed25519.verify(key, message, signature)
    assert ed25519.verify_many([(key, message, signature)]) == [expected]


def test_cctv_cases_through_the_worker_processes() -> None:
    # The admission path verifies in child processes: the same 914 verdicts must come back,
    # in order, through the pipe framing.
    verifier = BatchVerifier(chunk=100)
    expected = []
    for case in VECTORS:
        verifier.add(bytes.fromhex(case["key"]), case["msg"].encode(), bytes.fromhex(case["sig"]))
        expected.append(set(case["flags"] or []) <= ACCEPTED_FLAGS)
    assert verifier.finish().result(timeout=60) == expected
