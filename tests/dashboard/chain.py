"""A short chain made with the node's own types and real BLS keys, shaped as the gateway shows
it, for the dashboard's in-browser verifier to check (and to catch when altered)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from metanode.api.app import block_view
from metanode.api.schemas import ValidatorsView, ValidatorView
from metanode.consensus.messages import commit_seal_message
from metanode.consensus.validators import Validator, ValidatorSet
from metanode.crypto import bls
from metanode.types import Address, Block, BlockHeader, CommitCertificate
from metanode.types.block import last_certificate_hash

CHAIN_ID = "metanode-dashboard-test"


@dataclasses.dataclass
class Chain:
    keys: list[bls.PrivateKey]
    validators: ValidatorSet
    blocks: list[Block]
    certificates: list[CommitCertificate]

    def set_view(self, height: int) -> dict[str, Any]:
        return ValidatorsView(
            height=height,
            total_power=self.validators.total_power,
            set_hash=self.validators.hash().hex(),
            set_since=1,
            epoch_blocks=100,
            validators=[
                ValidatorView(
                    address=str(v.address),
                    power=v.power,
                    public_key=v.public_key.hex(),
                    bls_public_key=v.bls_public_key.hex(),
                    vrf_public_key=v.vrf_public_key.hex(),
                )
                for v in self.validators.validators
            ],
        ).model_dump(mode="json")

    def block_views(self) -> list[dict[str, Any]]:
        return [
            block_view(block, certificate).model_dump(mode="json")
            for block, certificate in zip(self.blocks, self.certificates, strict=True)
        ]


def _seed(label: str, index: int) -> bytes:
    return hashlib.sha256(f"{label}-{index}".encode()).digest()


def certify(
    chain_keys: list[bls.PrivateKey],
    validators: ValidatorSet,
    block_hash: bytes,
    height: int,
    signers: list[int],
    dst: bytes = bls.SIGNATURE_DST,
) -> CommitCertificate:
    """What a quorum's commit seals aggregate to; `signers` index the address-sorted set."""
    by_address = {Address.from_public_key(_ed_key(i)): key for i, key in enumerate(chain_keys)}
    message = commit_seal_message(height, 0, block_hash)
    seals = [by_address[validators.validators[i].address].sign(message, dst) for i in signers]
    return CommitCertificate(
        height=height,
        round=0,
        block_hash=block_hash,
        signer_bitmap=CommitCertificate.bitmap_for(signers, len(validators)),
        aggregate_signature=bls.aggregate_signatures(seals),
    )


def _ed_key(index: int) -> bytes:
    return _seed("ed25519", index)


def make_chain(length: int = 3, validators: int = 4, powers: tuple[int, ...] = ()) -> Chain:
    keys = [bls.PrivateKey.keygen(_seed("bls", i)) for i in range(validators)]
    members = sorted(
        (
            Validator(
                address=Address.from_public_key(_ed_key(i)),
                power=powers[i] if powers else 10,
                public_key=_ed_key(i),
                bls_public_key=key.public_key,
                vrf_public_key=_seed("vrf", i),
            )
            for i, key in enumerate(keys)
        ),
        key=lambda v: v.address,
    )
    validator_set = ValidatorSet(tuple(members))
    set_hash = validator_set.hash()
    blocks: list[Block] = []
    certificates: list[CommitCertificate] = []
    previous = bytes(32)
    last: CommitCertificate | None = None
    for height in range(1, length + 1):
        header = BlockHeader(
            chain_id=CHAIN_ID,
            height=height,
            round=0,
            timestamp_ms=1_800_000_000_000 + 1_000 * height,
            previous_hash=previous,
            txs_root=_seed("txs", height),
            state_root=_seed("state", height),
            receipts_root=_seed("receipts", height),
            validator_set_hash=set_hash,
            next_validator_set_hash=set_hash,
            proposer=members[height % validators].address,
            vrf_proof=_seed("vrf-proof", height) * 2 + bytes(16),
            last_certificate_hash=last_certificate_hash(last),
        )
        block = Block(header=header, txs=(), last_certificate=last)
        certificate = certify(keys, validator_set, block.hash(), height, [0, 1, 2])
        blocks.append(block)
        certificates.append(certificate)
        previous, last = block.hash(), certificate
    return Chain(keys, validator_set, blocks, certificates)
