"""The light client: one trusted light block, moved forward only by verified data.

Pure apart from its sources: a `Source` (`fetcher.HttpSource` over a node's gateway, or any
object with the same methods) answers light blocks and proofs, and raises `Rejected` with
`HEADER_WITHHELD` for a height it will not serve, `MALFORMED` for answers that do not decode.
The caller passes the time (`now_ms`) into every call that checks a trusting period.

Theory of `sync` (docs/light.md): fetch the primary's target block; verify it from the trusted
block, adjacent or skipping; when a skip fails for `NOT_ENOUGH_TRUST` (the set changed by
more than the trust level allows), fetch the block half-way and verify that first
(bisection), so a chain with no set change needs one certificate per sync and one with k
changes about k·log2(distance). Then every witness is asked for the same height: a witness
that serves another block verifiable from the same trusted block is a fork, and the client
builds light-client attack evidence against each side, submits it to both and refuses the
sync (`FORK_DETECTED`); a witness whose conflicting block does not verify is a liar and is
dropped from this sync. Only then does the trusted block move. Any rejection leaves it where
it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from metanode.types import Address, BlockHeader, LogBlock, Receipt, Transaction
from metanode.types.light_attack import LightAttackEvidence

from . import proofs
from .reasons import Rejected, Rejection
from .verifier import LightBlock, Verifier

bisection_steps_max = 4_096
backwards_headers_max = 1_000


class Source(Protocol):
    name: str

    def light_block(self, height: int | None) -> LightBlock: ...
    def header(self, height: int) -> BlockHeader: ...
    def tx_proof(self, tx_hash: bytes) -> proofs.TxProof: ...
    def account_proof(self, address: Address, height: int | None) -> proofs.StateProof: ...
    def receipt_proof(self, receipt_hash: bytes) -> proofs.NotarisedProof: ...
    def submit_evidence(self, evidence: LightAttackEvidence) -> str: ...


class ForkDetected(Rejected):
    def __init__(
        self, detail: str, evidence: tuple[LightAttackEvidence, ...], outcomes: list[str]
    ) -> None:
        super().__init__(Rejection.FORK_DETECTED, detail)
        self.evidence = evidence
        self.outcomes = outcomes


@dataclass(frozen=True, slots=True)
class SyncReport:
    height: int
    hash: bytes
    certificates_verified: int
    witnesses_agreeing: tuple[str, ...]
    witnesses_dropped: tuple[str, ...] = field(default=())


class LightClient:
    def __init__(
        self,
        verifier: Verifier,
        trusted: LightBlock,
        primary: Source,
        witnesses: Sequence[Source] = (),
    ) -> None:
        self.verifier = verifier
        self.trusted = trusted
        self.primary = primary
        self.witnesses = list(witnesses)

    @classmethod
    def initialise(
        cls,
        verifier: Verifier,
        height: int,
        block_hash: bytes,
        primary: Source,
        witnesses: Sequence[Source] = (),
    ) -> LightClient:
        """Trust the primary's block at `height` if it has the hash given out of band and a
        quorum of its own set signed it."""
        block = primary.light_block(height)
        if block.height != height:
            raise Rejected(Rejection.WRONG_HEIGHT, f"asked for {height}, got {block.height}")
        if block.hash() != block_hash:
            raise Rejected(
                Rejection.TRUST_ROOT_MISMATCH,
                f"the primary's header {height} is {block.hash().hex()}, the trust root says "
                f"{block_hash.hex()}",
            )
        verifier.verify_own(block)
        return cls(verifier, block, primary, witnesses)

    def sync(self, now_ms: int, height: int | None = None) -> SyncReport:
        """Move the trusted block to the primary's block at `height` (default: its latest)."""
        target = self.primary.light_block(height)
        if height is not None and target.height != height:
            raise Rejected(Rejection.WRONG_HEIGHT, f"asked for {height}, got {target.height}")
        if target.height == self.trusted.height:
            if target.hash() != self.trusted.hash():
                self._conflict_with_trusted(target)
            return SyncReport(self.trusted.height, self.trusted.hash(), 0, ())
        verified, count = self._verify_path(self.primary, target, now_ms)
        agreeing, dropped = self._cross_check(verified, now_ms)
        self.trusted = verified
        return SyncReport(verified.height, verified.hash(), count, agreeing, dropped)

    def sequential(self, blocks: Sequence[LightBlock], now_ms: int) -> None:
        """Verify consecutive blocks one height at a time, then trust the last."""
        trusted = self.trusted
        for block in blocks:
            self.verifier.verify_adjacent(trusted, block, now_ms)
            trusted = block
        self.trusted = trusted

    def _verify_path(
        self, source: Source, target: LightBlock, now_ms: int
    ) -> tuple[LightBlock, int]:
        trusted = self.trusted
        # The target's distance bounds the whole path: every pivot lies below it.
        self.verifier.check_window(trusted, target.header, now_ms)
        pending = [target]
        verified = 0
        for _ in range(bisection_steps_max):
            candidate = pending[-1]
            try:
                self.verifier.verify(trusted, candidate, now_ms)
            except Rejected as rejected:
                if rejected.reason is not Rejection.NOT_ENOUGH_TRUST:
                    raise
                middle = (trusted.height + candidate.height) // 2
                pivot = source.light_block(middle)
                if pivot.height != middle:
                    raise Rejected(
                        Rejection.WRONG_HEIGHT,
                        f"{source.name} answered height {pivot.height} for {middle}",
                    ) from None
                pending.append(pivot)
                continue
            verified += 1
            trusted = pending.pop()
            if not pending:
                return trusted, verified
        raise Rejected(
            Rejection.NOT_ENOUGH_TRUST, f"no path of trust found in {bisection_steps_max} steps"
        )

    def _cross_check(
        self, verified: LightBlock, now_ms: int
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        agreeing: list[str] = []
        dropped: list[str] = []
        for witness in self.witnesses:
            try:
                theirs = witness.light_block(verified.height)
            except Rejected:
                dropped.append(witness.name)
                continue
            if theirs.hash() == verified.hash():
                agreeing.append(witness.name)
                continue
            try:
                theirs_verified, _ = self._verify_path(witness, theirs, now_ms)
            except Rejected:
                dropped.append(witness.name)  # it lies, and cannot even sign its lie
                continue
            self._fork(verified, theirs_verified, witness)
        return tuple(agreeing), tuple(dropped)

    def _fork(self, ours: LightBlock, theirs: LightBlock, witness: Source) -> None:
        common = self.trusted
        against_primary = _evidence(common, ours, theirs)
        against_witness = _evidence(common, theirs, ours)
        outcomes = [
            _submit(witness, against_primary),
            _submit(self.primary, against_witness),
        ]
        raise ForkDetected(
            f"primary {self.primary.name} serves {ours.hash().hex()} at height {ours.height}, "
            f"witness {witness.name} serves {theirs.hash().hex()}; both verify from the trusted "
            f"height {common.height}",
            (against_primary, against_witness),
            outcomes,
        )

    def _conflict_with_trusted(self, served: LightBlock) -> None:
        raise Rejected(
            Rejection.FORK_DETECTED,
            f"the primary serves {served.hash().hex()} at the trusted height {served.height}, "
            f"the client trusts {self.trusted.hash().hex()}",
        )

    # --- reading data through proofs ----------------------------------------------------------

    def header_at(self, height: int, now_ms: int) -> BlockHeader:
        """A header the client can vouch for: the trusted one, one above reached by `sync`,
        or one below linked to the trusted header by previous hashes."""
        if height > self.trusted.height:
            self.sync(now_ms, height)
            return self.trusted.header
        header = self.trusted.header
        if header.height - height > backwards_headers_max:
            raise Rejected(
                Rejection.BACKWARDS_TOO_FAR,
                f"height {height} is more than {backwards_headers_max} below the trusted "
                f"height {header.height}: initialise from an older trusted hash",
            )
        while header.height > height:
            parent = self.primary.header(header.height - 1)
            if parent.hash() != header.previous_hash or parent.height != header.height - 1:
                raise Rejected(
                    Rejection.NOT_LINKED,
                    f"header {header.height - 1} served is not the parent of header "
                    f"{header.height}",
                )
            header = parent
        return header

    def verify_tx(
        self, tx_hash: bytes, now_ms: int
    ) -> tuple[Transaction, Receipt, proofs.TxProof, BlockHeader]:
        proof = self.primary.tx_proof(tx_hash)
        header = self.header_at(proof.height, now_ms)
        tx, receipt = proofs.verify_tx(header, tx_hash, proof)
        return tx, receipt, proof, header

    def verify_account(
        self, address: Address, now_ms: int, height: int | None = None
    ) -> tuple[proofs.StateProof, BlockHeader]:
        proof = self.primary.account_proof(address, height)
        proofs.check_height(height, proof.height)
        header = self.header_at(proof.height, now_ms)
        proofs.verify_state(header, proof)
        return proof, header

    def verify_receipt(
        self, receipt_hash: bytes, now_ms: int
    ) -> tuple[LogBlock, proofs.NotarisedProof, BlockHeader]:
        proof = self.primary.receipt_proof(receipt_hash)
        if proof.receipt_hash != receipt_hash:
            raise Rejected(Rejection.PROOF_INVALID, "the proof is of another receipt")
        header = self.header_at(proof.state.height, now_ms)
        return proofs.verify_notarised(header, proof), proof, header


def _evidence(
    common: LightBlock, conflicting: LightBlock, other: LightBlock
) -> LightAttackEvidence:
    return LightAttackEvidence(
        common.height, common.hash(), conflicting.header, conflicting.certificate, other.hash()
    )


def _submit(source: Source, evidence: LightAttackEvidence) -> str:
    try:
        return f"{source.name}: {source.submit_evidence(evidence)}"
    except Rejected as rejected:
        return f"{source.name}: {rejected}"
