"""A seconds-long run of the decoder's fuzz target (tests/fuzz/decode.py; `make fuzz` runs it
for 60 s), and the typed error that a panic in the compiled core becomes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from metanode.errors import DecodeError
from metanode.types.transaction import CORE_PANIC, _from_compiled

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


def test_a_panic_in_the_core_is_a_decode_error_in_its_items_place() -> None:
    # rust/src/transaction.rs `guarded` turns a panic into (core_panic, None) (cargo test
    # a_panic_while_decoding_becomes_the_core_panic_rule); here is what Python makes of it.
    result = _from_compiled(b"\x80", (CORE_PANIC, None))
    assert isinstance(result, DecodeError) and result.rule == CORE_PANIC
    assert "a bug in rust/" in str(result) and "METANODE_CORE=python" in str(result)
    # Any other refusal is decoded again by the reference, for its message naming the field.
    other = _from_compiled(b"\x80", ("wrong_length", None))
    assert isinstance(other, DecodeError) and "transaction" in other.detail
