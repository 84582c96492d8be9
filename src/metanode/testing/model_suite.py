"""A signature model for the simulator: the same interface as the real schemes, at hash speed.

A signature records the signer's public key and the digest of the message, so verification
checks both: a node cannot pass off another's signature or reuse one for another message. An
aggregate is the XOR of seals, which is order-independent like a BLS aggregate. The simulator
never forges, so this models exactly what the engine relies on; a separate test runs the
simulator with the real Ed25519, BLS and ECVRF (`metanode.consensus.real_suite`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from metanode.errors import InvariantViolation


def _digest(*parts: bytes, size: int) -> bytes:
    return hashlib.shake_256(b"\x00".join(parts)).digest(size)


@dataclass(frozen=True, slots=True)
class ModelKeys:
    public_key: bytes
    bls_public_key: bytes
    vrf_public_key: bytes

    @classmethod
    def for_name(cls, name: str) -> ModelKeys:
        seed = name.encode()
        return cls(
            _digest(b"ed", seed, size=32),
            _digest(b"bls", seed, size=48),
            _digest(b"vrf", seed, size=32),
        )


class ModelSuite:
    def __init__(self, keys: ModelKeys | None) -> None:
        self.keys = keys

    def _own(self) -> ModelKeys:
        if self.keys is None:
            raise InvariantViolation("an observer suite holds no keys and cannot sign")
        return self.keys

    def sign(self, message: bytes) -> bytes:
        return _digest(self._own().public_key, message, size=64)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        return signature == _digest(public_key, message, size=64)

    def seal(self, message: bytes) -> bytes:
        return _digest(self._own().bls_public_key, message, size=96)

    def verify_seal(self, bls_public_key: bytes, message: bytes, seal: bytes) -> bool:
        return seal == _digest(bls_public_key, message, size=96)

    def aggregate(self, seals: Sequence[bytes]) -> bytes:
        total = 0
        for seal in seals:
            total ^= int.from_bytes(seal, "big")
        return total.to_bytes(96, "big")

    def verify_aggregate(
        self, bls_public_keys: Sequence[bytes], message: bytes, aggregate: bytes
    ) -> bool:
        if len(set(bls_public_keys)) != len(bls_public_keys):
            return False
        expected = [_digest(key, message, size=96) for key in bls_public_keys]
        return self.aggregate(expected) == aggregate

    def vrf_prove(self, alpha: bytes) -> bytes:
        return _digest(self._own().vrf_public_key, alpha, size=80)

    def vrf_verify(self, vrf_public_key: bytes, alpha: bytes, proof: bytes) -> bytes | None:
        if proof != _digest(vrf_public_key, alpha, size=80):
            return None
        return self.vrf_output(proof)

    def vrf_output(self, proof: bytes) -> bytes:
        return _digest(b"beta", proof, size=64)
