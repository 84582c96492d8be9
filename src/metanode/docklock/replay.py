"""Replay: check a receipt by running its call again from its recorded input and initial
state, comparing every host call and the end state.

The verdict is `match`, or `diverged at step N` with what was expected and what happened.
Step N counts witness records from 0; tampering found before execution (signature, app id,
input, initial state, witness root) is reported at the step it concerns — the witness record
that differs from its root's, or step 0 for the receipt's own fields — and always named.
"""

from __future__ import annotations

from dataclasses import dataclass

from metanode.crypto.hashing import blake3_hash
from metanode.docklock import cage, witness
from metanode.docklock.appstate import state_root
from metanode.docklock.receipt import Bundle
from metanode.errors import VerificationError


@dataclass(frozen=True, slots=True)
class Verdict:
    step: int | None  # None: match
    what: str = ""
    expected: str = ""
    happened: str = ""

    @property
    def matches(self) -> bool:
        return self.step is None

    def lines(self) -> list[str]:
        if self.step is None:
            return ["match"]
        return [
            f"diverged at step {self.step}",
            f"  what:     {self.what}",
            f"  expected: {self.expected}",
            f"  happened: {self.happened}",
        ]


def replay(bundle: Bundle) -> Verdict:
    receipt = bundle.receipt
    try:
        receipt.verify_signature()
    except VerificationError:
        return Verdict(0, "signature", "a valid executor signature", "the signature fails")
    checks = [
        ("app id", receipt.app_id, cage.app_id(bundle.module)),
        ("input", receipt.input_hash, blake3_hash(bundle.input)),
        ("initial state", receipt.state_root_before, state_root(bundle.state_before)),
    ]
    for what, claimed, actual in checks:
        if claimed != actual:
            return Verdict(0, what, claimed.hex(), actual.hex())
    recorded = bundle.witness
    if witness.root(recorded) != receipt.witness_root or len(recorded) != receipt.witness_length:
        return _first_bad_record(bundle)
    run = cage.run(
        bundle.module,
        receipt.function,
        bundle.input,
        bundle.state_before,
        block_time=receipt.block_time,
        seed=receipt.seed,
    )
    for step in range(max(len(recorded), len(run.witness))):
        expected = recorded[step] if step < len(recorded) else None
        happened = run.witness[step] if step < len(run.witness) else None
        if expected != happened:
            return Verdict(
                step,
                "host call",
                expected.describe() if expected else "no further host call",
                happened.describe() if happened else "no further host call",
            )
    end = len(run.witness)
    finals = [
        ("outcome", receipt.outcome, run.outcome),
        ("output", receipt.output_hash.hex(), blake3_hash(run.output).hex()),
        ("bundled output", receipt.output_hash.hex(), blake3_hash(bundle.output).hex()),
        ("state root after", receipt.state_root_after.hex(), state_root(run.state_after).hex()),
        ("fuel used", str(receipt.fuel_used), str(run.fuel_used)),
        ("peak memory", str(receipt.peak_memory_bytes), str(run.peak_memory_bytes)),
    ]
    for what, claimed, actual in finals:
        if claimed != actual:
            return Verdict(end, what, claimed, actual)
    return Verdict(None)


def _first_bad_record(bundle: Bundle) -> Verdict:
    """The witness in the bundle does not hash to the receipt's root: find the changed record
    by replaying, since the run reproduces the records the receipt committed to."""
    run = cage.run(
        bundle.module,
        bundle.receipt.function,
        bundle.input,
        bundle.state_before,
        block_time=bundle.receipt.block_time,
        seed=bundle.receipt.seed,
    )
    for step, record in enumerate(bundle.witness):
        if step >= len(run.witness) or run.witness[step] != record:
            happened = run.witness[step].describe() if step < len(run.witness) else "nothing"
            return Verdict(step, "witness record", happened, record.describe())
    return Verdict(
        len(bundle.witness),
        "witness length",
        str(bundle.receipt.witness_length),
        str(len(bundle.witness)),
    )
