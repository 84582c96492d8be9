"""Header verification of the light client: pure, no I/O, no clock (the caller passes `now_ms`).

Theory (after the CometBFT light client; docs/light.md): a light block is a header, the commit
certificate of that header and the validator set that signs it. It is valid on its own when
the certificate names this header, the set is the one the header commits to
(`validator_set_hash`), and signers with a quorum (`ceil(2P/3)`) of the set's power made the
aggregate BLS signature. It is trusted when, in addition,
- adjacent (height h + 1 of a trusted h): its `previous_hash` is the trusted header's hash and
  its set is the one the trusted header named next (`next_validator_set_hash`);
- skipping (any later height): signers holding more than `trust_level` (default 1/3) of the
  trusted set's power signed it, so at least one of them was honest if fewer than a third of
  the trusted set was faulty; a signer counts only with the address and BLS key the trusted set
  holds for it.
Both also need the trusted header to be within its trusting period, in time (`now_ms`) and in
blocks (how far above it the target lies: past the chain's unbonding delay its validators may
have left with their stake and could sign anything unpunished), and time never going back.
Every check raises `Rejected` with one `Rejection`; nothing here holds state to move.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from metanode.consensus.messages import commit_seal_message
from metanode.consensus.validators import Validator, ValidatorSet
from metanode.crypto import bls
from metanode.errors import ConfigError, KeyFormatError, VerificationError
from metanode.types import BlockHeader, CommitCertificate

from .reasons import Rejected, Rejection

DAY_MS = 86_400_000
period_blocks_default = 100_000
period_days_default = 14


@dataclass(frozen=True, slots=True)
class LightBlock:
    header: BlockHeader
    certificate: CommitCertificate
    validators: ValidatorSet

    @property
    def height(self) -> int:
        return self.header.height

    def hash(self) -> bytes:
        return self.header.hash()


@dataclass(frozen=True, slots=True)
class TrustOptions:
    """`period_blocks` must stay below the chain's unbonding delay, `period_ms` below the time
    that delay takes; `clock_drift_ms` is how far ahead of our clock a header may be stamped."""

    trust_level: Fraction = Fraction(1, 3)
    period_blocks: int = period_blocks_default
    period_ms: int = period_days_default * DAY_MS
    clock_drift_ms: int = 10_000

    def __post_init__(self) -> None:
        if not Fraction(1, 3) <= self.trust_level <= 1:
            # Below 1/3 a signer set may hold no honest validator at all.
            raise ConfigError(f"trust level {self.trust_level} must lie within [1/3, 1]")
        if self.period_blocks < 1 or self.period_ms < 1 or self.clock_drift_ms < 0:
            raise ConfigError("trusting periods must be positive and the clock drift not negative")


class Verifier:
    """The checks of one chain. Holds only a cache of decoded BLS keys (one decompression and
    subgroup check per validator key, not per certificate)."""

    def __init__(self, chain_id: str, options: TrustOptions | None = None) -> None:
        self.chain_id = chain_id
        self.options = options or TrustOptions()
        self._keys = bls.KeyCache()

    def verify_own(self, block: LightBlock) -> list[Validator]:
        """The block is valid by itself; answers its signers."""
        header, certificate, validators = block.header, block.certificate, block.validators
        if header.chain_id != self.chain_id:
            raise Rejected(
                Rejection.WRONG_CHAIN, f"header of chain {header.chain_id!r}, not {self.chain_id!r}"
            )
        if certificate.height != header.height:
            raise Rejected(
                Rejection.WRONG_HEIGHT,
                f"certificate of height {certificate.height} for a header of {header.height}",
            )
        if certificate.block_hash != header.hash():
            raise Rejected(
                Rejection.FORGED_HEADER,
                f"the certificate of height {header.height} commits block "
                f"{certificate.block_hash.hex()}, not this header ({header.hash().hex()})",
            )
        if validators.hash() != header.validator_set_hash:
            raise Rejected(
                Rejection.VALIDATOR_SET_MISMATCH,
                f"the validator set served for height {header.height} hashes to "
                f"{validators.hash().hex()}, the header names {header.validator_set_hash.hex()}",
            )
        signers = _signers(certificate, validators)
        power = sum(signer.power for signer in signers)
        if power < validators.quorum:
            raise Rejected(
                Rejection.INSUFFICIENT_POWER,
                f"signers of height {header.height} hold {power} of {validators.total_power} "
                f"power, below the quorum {validators.quorum}",
            )
        message = commit_seal_message(certificate.height, certificate.round, certificate.block_hash)
        try:
            self._keys.fast_aggregate_verify(
                [signer.bls_public_key for signer in signers],
                message,
                certificate.aggregate_signature,
            )
        except (VerificationError, KeyFormatError) as error:
            raise Rejected(
                Rejection.BAD_SIGNATURE, f"certificate of height {header.height}: {error}"
            ) from None
        return signers

    def verify_adjacent(self, trusted: LightBlock, untrusted: LightBlock, now_ms: int) -> None:
        self.check_window(trusted, untrusted.header, now_ms)
        if untrusted.height != trusted.height + 1:
            raise Rejected(Rejection.WRONG_HEIGHT, "adjacent verification needs height h + 1")
        if untrusted.header.previous_hash != trusted.hash():
            raise Rejected(
                Rejection.NOT_LINKED,
                f"header {untrusted.height} names parent {untrusted.header.previous_hash.hex()}, "
                f"the trusted header is {trusted.hash().hex()}",
            )
        if untrusted.header.validator_set_hash != trusted.header.next_validator_set_hash:
            raise Rejected(
                Rejection.STALE_VALIDATOR_SET,
                f"header {untrusted.height} names set {untrusted.header.validator_set_hash.hex()}"
                f", the trusted header named {trusted.header.next_validator_set_hash.hex()} next",
            )
        self.verify_own(untrusted)

    def verify_skipping(self, trusted: LightBlock, untrusted: LightBlock, now_ms: int) -> None:
        self.check_window(trusted, untrusted.header, now_ms)
        signers = self.verify_own(untrusted)
        known = trusted.validators
        power = 0
        for signer in signers:
            member = known.get(signer.address)
            if member is not None and member.bls_public_key == signer.bls_public_key:
                power += member.power
        level = self.options.trust_level
        if power * level.denominator <= level.numerator * known.total_power:
            raise Rejected(
                Rejection.NOT_ENOUGH_TRUST,
                f"signers of height {untrusted.height} hold {power} of the trusted set's "
                f"{known.total_power} power (height {trusted.height}), not more than {level}",
            )

    def verify(self, trusted: LightBlock, untrusted: LightBlock, now_ms: int) -> None:
        if untrusted.height == trusted.height + 1:
            self.verify_adjacent(trusted, untrusted, now_ms)
        else:
            self.verify_skipping(trusted, untrusted, now_ms)

    def check_window(self, trusted: LightBlock, header: BlockHeader, now_ms: int) -> None:
        """The trusted block may vouch for `header`: within the trusting period, time forward."""
        options = self.options
        if header.height <= trusted.height:
            raise Rejected(
                Rejection.WRONG_HEIGHT,
                f"height {header.height} is not above the trusted height {trusted.height}",
            )
        if now_ms >= trusted.header.timestamp_ms + options.period_ms:
            raise Rejected(
                Rejection.TRUSTED_STATE_EXPIRED,
                f"the trusted header {trusted.height} is older than {options.period_ms} ms: "
                "initialise again from a recent trusted hash",
            )
        if header.height - trusted.height > options.period_blocks:
            raise Rejected(
                Rejection.TRUSTED_STATE_EXPIRED,
                f"height {header.height} is more than {options.period_blocks} blocks above the "
                f"trusted height {trusted.height}: initialise again from a recent trusted hash",
            )
        if header.timestamp_ms < trusted.header.timestamp_ms:
            raise Rejected(
                Rejection.TIME_WENT_BACK,
                f"header {header.height} is stamped {header.timestamp_ms}, before the trusted "
                f"header's {trusted.header.timestamp_ms}",
            )
        if header.timestamp_ms > now_ms + options.clock_drift_ms:
            raise Rejected(
                Rejection.HEADER_FROM_FUTURE,
                f"header {header.height} is stamped {header.timestamp_ms}, more than "
                f"{options.clock_drift_ms} ms after now ({now_ms})",
            )


def _signers(certificate: CommitCertificate, validators: ValidatorSet) -> list[Validator]:
    if len(certificate.signer_bitmap) != (len(validators) + 7) // 8:
        raise Rejected(
            Rejection.SIGNER_OUTSIDE_SET,
            f"a signer bitmap of {len(certificate.signer_bitmap)} bytes for a set of "
            f"{len(validators)} validators",
        )
    indexes = certificate.signer_indexes()
    outside = [index for index in indexes if index >= len(validators)]
    if outside:
        raise Rejected(
            Rejection.SIGNER_OUTSIDE_SET,
            f"the signer bitmap names positions {outside} in a set of {len(validators)}",
        )
    return [validators.validators[index] for index in indexes]
