"""The signature schemes consensus uses, behind one interface.

`Suite` is what the engine calls: Ed25519 for messages, BLS for commit seals and certificates,
ECVRF for proposer proofs. `RealSuite` binds it to `metanode.crypto`; the simulator's
signature model (`metanode.testing.model_suite`) implements the same interface so that
thousands of scenarios run fast, and a separate test runs scenarios with the real schemes.
A suite holds at most one node's secret keys (`None` for an observer that only verifies).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Suite(Protocol):
    def sign(self, message: bytes) -> bytes:
        """This node's Ed25519 signature over `message`."""
        ...

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool: ...

    def seal(self, message: bytes) -> bytes:
        """This node's BLS signature over a commit-seal message."""
        ...

    def verify_seal(self, bls_public_key: bytes, message: bytes, seal: bytes) -> bool: ...

    def aggregate(self, seals: Sequence[bytes]) -> bytes: ...

    def verify_aggregate(
        self, bls_public_keys: Sequence[bytes], message: bytes, aggregate: bytes
    ) -> bool:
        """One fast-aggregate-verify: all keys signed the same message."""
        ...

    def vrf_prove(self, alpha: bytes) -> bytes: ...

    def vrf_verify(self, vrf_public_key: bytes, alpha: bytes, proof: bytes) -> bytes | None:
        """The VRF output for a valid proof, else None."""
        ...

    def vrf_output(self, proof: bytes) -> bytes:
        """The VRF output of a proof already verified (proof-to-hash)."""
        ...
