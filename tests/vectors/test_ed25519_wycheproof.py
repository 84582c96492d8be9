"""Every Wycheproof ed25519_test case: valid accepted, invalid rejected with our error type.
The suite has no `acceptable` cases; if one appeared, the test would fail and ask for a choice."""

from __future__ import annotations

from typing import Any

import pytest

from metanode.crypto import ed25519
from metanode.errors import KeyFormatError, VerificationError
from tests.conftest import load_vectors

# Both implementations of the rule, the compiled core and the reference (metanode.core).
pytestmark = pytest.mark.usefixtures("core_choice")

SUITE = load_vectors("wycheproof/ed25519_test.json")
CASES = [
    (group["publicKey"]["pk"], test) for group in SUITE["testGroups"] for test in group["tests"]
]


def test_count_matches_the_suite() -> None:
    assert len(CASES) == SUITE["numberOfTests"]


@pytest.mark.parametrize(("public_key", "case"), CASES, ids=[f"tc{c['tcId']}" for _, c in CASES])
def test_wycheproof_ed25519(public_key: str, case: dict[str, Any]) -> None:
    assert case["result"] in {"valid", "invalid"}
    key, message, signature = (
        bytes.fromhex(public_key),
        bytes.fromhex(case["msg"]),
        bytes.fromhex(case["sig"]),
    )
    if case["result"] == "valid":
        ed25519.verify(key, message, signature)
    else:
        with pytest.raises((VerificationError, KeyFormatError)):
            ed25519.verify(key, message, signature)
