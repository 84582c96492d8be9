"""The executor store writes its per-call records (the undo record, the stored receipt's tail,
the head) by `encode_plain`: the bytes in its tables must be the codec's encodings of the same
items, for any changes a call can make (puts, deletes, empty values) and any witness."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.codec import encode
from metanode.docklock.executor import execute_encoded
from metanode.docklock.live import LiveState
from metanode.executor.store import _HEAD_OF_4, ExecutorStore, _receipt_key
from tests.executor.helpers import COUNTER, COUNTER_ID, key

state_keys = st.binary(min_size=1, max_size=8)
states = st.dictionaries(state_keys, st.binary(max_size=16), max_size=6)


@settings(max_examples=40, deadline=None)
@given(states, states, st.integers(min_value=0, max_value=2**40))
def test_the_stored_records_are_the_codecs_bytes(
    before: dict[bytes, bytes], after: dict[bytes, bytes], size: int
) -> None:
    changes = {k: after.get(k) for k in {*before, *after} if before.get(k) != after.get(k)}
    executed = execute_encoded(
        COUNTER, "increment", b"", LiveState({}), key(1), block_time=1, seed=bytes(32)
    )
    signed = (executed.receipt, executed.run.output, executed.records)
    with tempfile.TemporaryDirectory() as directory:
        store = ExecutorStore.open(Path(directory) / "executor")
        try:
            with store.writing() as writer:
                own = writer.commit(
                    COUNTER_ID, 0, before, changes, size, signed, encoded=executed.encoded
                )
            with store._env.begin() as txn:
                undo = txn.get(_receipt_key(COUNTER_ID, 0), db=store._undo)
                stored = txn.get(_receipt_key(COUNTER_ID, 0), db=store._receipts)
                head = txn.get(COUNTER_ID, db=store._heads)
            deleted = [[k, before[k]] for k, v in changes.items() if v is None]
            put = [[k, before.get(k)] for k, v in changes.items() if v is not None]
            assert undo == encode(deleted + put)
            rest = [executed.run.output, size, list(executed.records)]
            assert stored == _HEAD_OF_4 + executed.encoded + encode(rest)[1:]
            assert head == encode([0, own])
            (served,) = store.receipts(COUNTER_ID, 0, 1)
            assert served.encoded == executed.encoded
        finally:
            store.close()
