"""Commit certificates: a quorum's BLS commit seals aggregated into one signature and a bitmap.

Verifying one costs one fast-aggregate-verify over the signers' keys (the suite keeps
validators' decompressed keys), whatever the number of signers. Used by the engine, block sync
and the light client alike.
"""

from __future__ import annotations

from collections.abc import Iterable

from metanode.errors import VerificationError
from metanode.types import CommitCertificate

from .messages import Signed, commit_seal_message
from .suite import Suite
from .validators import ValidatorSet


def build_certificate(
    commits: Iterable[Signed], validators: ValidatorSet, suite: Suite
) -> CommitCertificate:
    """Aggregate COMMITs for one (height, round, digest), in validator order."""
    ordered = sorted(commits, key=lambda commit: validators.index_of[commit.signer])
    first = ordered[0]
    indexes = [validators.index_of[commit.signer] for commit in ordered]
    return CommitCertificate(
        height=first.height,
        round=first.round,
        block_hash=first.digest,
        signer_bitmap=CommitCertificate.bitmap_for(indexes, len(validators)),
        aggregate_signature=suite.aggregate([commit.seal for commit in ordered]),
    )


def verify_certificate(
    certificate: CommitCertificate, block_hash: bytes, validators: ValidatorSet, suite: Suite
) -> None:
    """Raise VerificationError unless a quorum of `validators` committed `block_hash`."""
    if certificate.block_hash != block_hash:
        raise VerificationError("the certificate is for another block")
    if len(certificate.signer_bitmap) != (len(validators) + 7) // 8:
        raise VerificationError("the signer bitmap does not match the validator set size")
    indexes = certificate.signer_indexes()
    if any(index >= len(validators) for index in indexes):
        raise VerificationError("the signer bitmap names a validator outside the set")
    signers = [validators.validators[index] for index in indexes]
    if sum(signer.power for signer in signers) < validators.quorum:
        raise VerificationError(
            f"signers hold {sum(s.power for s in signers)} of {validators.total_power} power, "
            f"below the quorum {validators.quorum}"
        )
    message = commit_seal_message(certificate.height, certificate.round, block_hash)
    keys = [signer.bls_public_key for signer in signers]
    if not suite.verify_aggregate(keys, message, certificate.aggregate_signature):
        raise VerificationError("the aggregate commit signature does not verify")
