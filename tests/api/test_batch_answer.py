"""The batch endpoint's answer (`submission.batch_answer`) is written from plain dicts, not
pydantic models: it must be byte for byte what `schemas.BatchResult` serializes for the same
verdicts, and carry the headers admission set (Retry-After)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from metanode.api import schemas, submission
from metanode.mempool.pool import Admission
from metanode.mempool.reasons import Reason

admissions = st.builds(
    Admission,
    hash=st.none() | st.binary(min_size=32, max_size=32),
    reason=st.none() | st.sampled_from(Reason),
    detail=st.text(max_size=40),  # non-ASCII too: both write UTF-8 unescaped
    queued=st.booleans(),
    next_nonce=st.none() | st.integers(min_value=0, max_value=2**64 - 1),
)


@given(st.lists(admissions, max_size=20))
def test_the_answer_is_what_the_schema_serializes(results: list[Admission]) -> None:
    expected = TypeAdapter(schemas.BatchResult).dump_json(
        schemas.BatchResult(results=[submission.admitted(result) for result in results])
    )
    answer = submission.batch_answer(results, {})
    assert answer.body == expected
    assert answer.headers["content-type"] == "application/json"
    assert answer.status_code == 200


def test_plain_admissions_among_others_are_what_the_schema_serializes() -> None:
    """A plain admission (admitted, waiting for nothing) is written from a template; the
    schema's bytes hold for a batch of them beside every other kind of verdict."""
    plain = [Admission(bytes([index]) * 32, None) for index in range(3)]
    others = [
        Admission(bytes(32), None, "waiting for nonce 4 of its sender", queued=True, next_nonce=4),
        Admission(bytes(32), None, "kept, a note"),
        Admission(None, Reason.MALFORMED, "not a transaction: ü"),
        Admission(bytes(32), Reason.NONCE_TOO_LOW, "nonce 1, expected 2", next_nonce=2),
    ]
    results = [plain[0], *others[:2], plain[1], *others[2:], plain[2]]
    expected = TypeAdapter(schemas.BatchResult).dump_json(
        schemas.BatchResult(results=[submission.admitted(result) for result in results])
    )
    assert submission.batch_answer(results, {}).body == expected


def test_the_answer_carries_retry_after() -> None:
    refused = Admission(None, Reason.RATE_LIMITED, "the clients hold what the commit rate allows")
    answer = submission.batch_answer([refused], {"Retry-After": "2"})
    assert answer.headers["retry-after"] == "2"
    assert answer.headers["content-length"] == str(len(answer.body))
