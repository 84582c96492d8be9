"""The consensus `Suite` on the real schemes of `metanode.crypto`: Ed25519 for messages,
BLS12-381 (proof-of-possession scheme) for commit seals and certificates, ECVRF for proposers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from metanode.crypto import bls, ed25519, vrf
from metanode.errors import KeyFormatError, VerificationError


@dataclass(frozen=True, slots=True)
class ValidatorKeys:
    """A validator's three secrets, each derived from its own 32-byte seed."""

    ed25519_seed: bytes
    bls_secret: bytes
    vrf_seed: bytes

    @property
    def public_key(self) -> bytes:
        return ed25519.PrivateKey.from_seed(self.ed25519_seed).public_key

    @property
    def bls_public_key(self) -> bytes:
        return bls.PrivateKey.from_bytes(self.bls_secret).public_key

    @property
    def vrf_public_key(self) -> bytes:
        return vrf.public_key(self.vrf_seed)


class RealSuite:
    def __init__(self, keys: ValidatorKeys | None) -> None:
        self._signing = ed25519.PrivateKey.from_seed(keys.ed25519_seed) if keys else None
        self._bls = bls.PrivateKey.from_bytes(keys.bls_secret) if keys else None
        self._vrf_seed = keys.vrf_seed if keys else None
        self._keys = bls.KeyCache()  # validators' BLS keys, decoded and checked once
        # The last proof made, as (alpha, proof): the node makes its proposal's proof on a
        # thread while it gathers the block (`Node._schedule_proposal`), and the proposal then
        # finds it here. One assignment of a tuple, so a thread's write is whole or absent.
        self._vrf_proof: tuple[bytes, bytes] | None = None

    @property
    def public_key(self) -> bytes | None:
        """The Ed25519 key `sign` signs with (None for an observer)."""
        return None if self._signing is None else self._signing.public_key

    def use(self, ed25519_seed: bytes) -> None:
        """Sign consensus messages with this Ed25519 key from now on: the validator's node key
        was rotated (message 43) and its entry in the set of the coming height names it."""
        self._signing = ed25519.PrivateKey.from_seed(ed25519_seed)

    def sign(self, message: bytes) -> bytes:
        if self._signing is None:
            raise KeyFormatError("this suite belongs to an observer and holds no signing key")
        return self._signing.sign(message)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        return ed25519.is_valid(public_key, message, signature)

    def seal(self, message: bytes) -> bytes:
        if self._bls is None:
            raise KeyFormatError("this suite belongs to an observer and holds no BLS key")
        return self._bls.sign(message)

    def verify_seal(self, bls_public_key: bytes, message: bytes, seal: bytes) -> bool:
        try:
            bls.verify(bls_public_key, message, seal)
        except (VerificationError, KeyFormatError):
            return False
        return True

    def aggregate(self, seals: Sequence[bytes]) -> bytes:
        return bls.aggregate_signatures(list(seals))

    def verify_aggregate(
        self, bls_public_keys: Sequence[bytes], message: bytes, aggregate: bytes
    ) -> bool:
        try:
            self._keys.fast_aggregate_verify(list(bls_public_keys), message, aggregate)
        except (VerificationError, KeyFormatError):
            return False
        return True

    def vrf_prove(self, alpha: bytes) -> bytes:
        if self._vrf_seed is None:
            raise KeyFormatError("this suite belongs to an observer and holds no VRF key")
        made = self._vrf_proof
        if made is not None and made[0] == alpha:
            return made[1]
        proof = vrf.prove(self._vrf_seed, alpha)
        self._vrf_proof = (alpha, proof)
        return proof

    def vrf_verify(self, vrf_public_key: bytes, alpha: bytes, proof: bytes) -> bytes | None:
        try:
            return vrf.verify(vrf_public_key, alpha, proof)
        except (VerificationError, KeyFormatError):
            return None

    def vrf_output(self, proof: bytes) -> bytes:
        return vrf.proof_to_hash(proof)
