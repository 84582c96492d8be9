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


def test_the_answer_carries_retry_after() -> None:
    refused = Admission(None, Reason.RATE_LIMITED, "the clients hold what the commit rate allows")
    answer = submission.batch_answer([refused], {"Retry-After": "2"})
    assert answer.headers["retry-after"] == "2"
    assert answer.headers["content-length"] == str(len(answer.body))
