"""A chain of real signed headers for the light client's tests and bench: real BLS12-381
certificates over headers linked by hash, with validator-set changes at chosen heights.

Headers are built (hashed, never signed) up to the tip when the chain grows; a certificate is
signed only when a light block is asked for, so a chain of 10,000 heights costs 10,000 header
hashes and as many certificates as are read (a skipping client reads a handful).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from metanode.consensus.messages import commit_seal_message
from metanode.consensus.validators import Validator, ValidatorSet
from metanode.crypto import bls, ed25519, vrf
from metanode.types import Address, BlockHeader, CommitCertificate

BLOCK_MS = 1_000
ZERO = bytes(32)


@dataclass(frozen=True, slots=True)
class Member:
    validator: Validator
    bls_key: bls.PrivateKey


def member(name: str, power: int = 1) -> Member:
    def seed(label: str) -> bytes:
        return hashlib.sha256(f"{label}/{name}".encode()).digest()

    public_key = ed25519.PrivateKey.from_seed(seed("ed25519")).public_key
    bls_key = bls.PrivateKey.keygen(seed("bls"))
    validator = Validator(
        Address.from_public_key(public_key),
        power,
        public_key,
        bls_key.public_key,
        vrf.public_key(seed("vrf")),
    )
    return Member(validator, bls_key)


class SignedChain:
    """`sets[i] = (first height, members)`: the set that signs from that height on."""

    def __init__(
        self,
        chain_id: str,
        sets: Sequence[tuple[int, Sequence[Member]]],
        start_ms: int = 1_700_000_000_000,
    ) -> None:
        self.chain_id = chain_id
        self.start_ms = start_ms
        self._sets = sorted(
            (height, ValidatorSet.of([m.validator for m in members]), tuple(members))
            for height, members in sets
        )
        self.keys = {m.validator.address: m.bls_key for _, _, ms in self._sets for m in ms}
        self.headers: list[BlockHeader] = []
        self._certificates: dict[int, CommitCertificate] = {}

    def validators(self, height: int) -> ValidatorSet:
        return next(s for start, s, _ in reversed(self._sets) if start <= height)

    def grow(self, tip: int) -> None:
        while len(self.headers) < tip:
            height = len(self.headers) + 1
            previous = self.headers[-1].hash() if self.headers else ZERO
            validators = self.validators(height)
            self.headers.append(
                BlockHeader(
                    self.chain_id,
                    height,
                    0,
                    self.start_ms + height * BLOCK_MS,
                    previous,
                    ZERO,
                    ZERO,
                    ZERO,
                    validators.hash(),
                    self.validators(height + 1).hash(),
                    validators.validators[height % len(validators)].address,
                    bytes(80),
                    ZERO,
                )
            )

    def header(self, height: int) -> BlockHeader:
        return self.headers[height - 1]

    def certificate(
        self,
        header: BlockHeader,
        signers: Sequence[Address] | None = None,
        validators: ValidatorSet | None = None,
    ) -> CommitCertificate:
        """Signed by `signers` of `validators` (default: the whole set of the header's height;
        another set forges a header its own members sign)."""
        canonical = signers is None and validators is None and header == self.header(header.height)
        held = self._certificates.get(header.height) if canonical else None
        if held is not None:
            return held
        validators = validators or self.validators(header.height)
        chosen = signers or [v.address for v in validators.validators]
        indexes = sorted(validators.index_of[address] for address in chosen)
        message = commit_seal_message(header.height, 0, header.hash())
        seals = [self.keys[validators.validators[i].address].sign(message) for i in indexes]
        certificate = CommitCertificate(
            header.height,
            0,
            header.hash(),
            CommitCertificate.bitmap_for(indexes, len(validators)),
            bls.aggregate_signatures(seals),
        )
        if canonical:
            self._certificates[header.height] = certificate
        return certificate
