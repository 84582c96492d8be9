"""Fuzz target: the compiled core's transaction decoder, through the binding, against the
reference (atheris, coverage-guided by the reference decoder's Python code).

Run `python -m tests.fuzz.decode [libFuzzer options] [CORPUS_DIR or CRASH_FILE …]` from the
repository root: `make fuzz` runs it for 60 s (`make test-all` includes it), and the default
suite runs it for a few seconds (tests/fuzz/test_fuzz.py). A failure is a panic that crossed
the boundary (PyO3's PanicException, a BaseException), an exception that is not a
DecodeError, or a verdict that differs from the reference; libFuzzer then writes the input to
`crash-…` (or where `-artifact_prefix=` says), and the same command with that file replays it.

The Rust code itself is not instrumented for coverage (that needs a build with libFuzzer's
sanitizer-coverage flags): the search follows the reference's branches, which are the
decoder's rules, and starts from real transfers, so it reaches the same rules in both.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["metanode.codec", "metanode.types"]):
    from metanode.errors import DecodeError
    from metanode.types.address import Address
    from metanode.types.messages import Bond, Denom, Transfer
    from metanode.types.transaction import Transaction
    from tests.types.test_transaction_core import assert_agrees_with_the_reference


def seeds() -> list[bytes]:
    """Real encodings to start from: a transfer in each denomination, a hybrid-signed one, and
    a message the core leaves to Python."""
    to = Address.from_public_key(bytes(32))
    messages = [Transfer(to, 10**9, denom) for denom in Denom] + [Bond(to, 5)]
    found = [
        Transaction("metanode-fuzz", bytes(range(32)), 7, 1_000, 99, message, bytes(64)).encode()
        for message in messages
    ]
    hybrid_signature = bytes(64 + 3309)
    found.append(
        Transaction("c", bytes(32), 0, 0, 0, messages[0], hybrid_signature, bytes(1952)).encode()
    )
    return found


def test_one_input(data: bytes) -> None:
    assert_agrees_with_the_reference([data])
    (result,) = Transaction.decode_many([data])
    assert isinstance(result, Transaction | DecodeError), result


def main() -> None:
    """Without a corpus or an input named, the corpus is $TMPDIR/metanode-fuzz-corpus, seeded
    and kept, so that each run goes on from what the last one found (libFuzzer exits the
    process at the end, so nothing here could remove a directory made for one run)."""
    arguments = sys.argv[1:]
    if not any(Path(argument).exists() for argument in arguments):
        corpus = Path(tempfile.gettempdir()) / "metanode-fuzz-corpus"
        corpus.mkdir(exist_ok=True)
        arguments.append(str(corpus))
    for argument in arguments:
        if Path(argument).is_dir():
            for index, seed in enumerate(seeds()):
                (Path(argument) / f"seed-{index}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *arguments], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
