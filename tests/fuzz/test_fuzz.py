"""A seconds-long run of the decoder's fuzz target (tests/fuzz/decode.py; `make fuzz` runs it
for 60 s), and the typed error that a panic in the compiled core becomes."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from metanode.errors import DecodeError
from metanode.types.transaction import CORE_PANIC, Transaction, _from_compiled
from tests.fuzz.decode import seeds

REPOSITORY = Path(__file__).parents[2]


def test_a_short_fuzz_run_finds_no_crash_and_no_disagreement(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.decode",
            "-max_total_time=4",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done" in result.stderr and not list(tmp_path.glob("crash-*"))
    assert len(list(corpus.iterdir())) > 7  # the seeds, and what the run added to them


def test_a_panic_in_the_core_gives_the_references_verdict_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # rust/src/transaction.rs `guarded` turns a panic into (core_panic, None) (cargo test
    # a_panic_while_decoding_becomes_the_core_panic_rule); the item is then decoded by the
    # reference, so a node on the core decides what a node on the reference does.
    good = seeds()[0]
    with caplog.at_level(logging.ERROR, logger="metanode.types"):
        result = _from_compiled(good, (CORE_PANIC, None))
    assert result == Transaction.decode(good)
    assert "panicked" in caplog.text
    bad = _from_compiled(b"\x80", (CORE_PANIC, None))
    assert isinstance(bad, DecodeError) and bad.rule != CORE_PANIC
    # Any other refusal is decoded again by the reference, for its message naming the field.
    other = _from_compiled(b"\x80", ("wrong_length", None))
    assert isinstance(other, DecodeError) and "transaction" in other.detail
