"""The view layer: overlays read their own writes, list them sorted, merge scans in key order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.state.view import FrozenOverlay, MemoryReader, Overlay
from tests.conftest import examples

keys = st.binary(min_size=1, max_size=3)


class _BatchReader(MemoryReader):
    """A reader with `get_many`, as the store's: the overlay reads its base in one call."""

    def __init__(self, base: MemoryReader) -> None:
        super().__init__(dict(base.scan(b"")))

    def get(self, key: bytes) -> bytes | None:
        raise AssertionError("a reader with get_many is read in batches")

    def get_many(self, keys: list[bytes]) -> list[bytes | None]:
        return [self._items.get(key) for key in keys]


values = st.one_of(st.none(), st.binary(max_size=4))


@given(st.dictionaries(keys, st.binary(max_size=4)), st.lists(st.tuples(keys, values)))
@settings(max_examples=examples(300))
def test_overlay_matches_a_dict_model(base_items, writes) -> None:
    base = MemoryReader(dict(base_items))
    overlay = Overlay(base)
    model = dict(base_items)
    for key, value in writes:
        if value is None:
            overlay.delete(key)
            model.pop(key, None)
        else:
            overlay.put(key, value)
            model[key] = value
    for key in set(model) | {k for k, _ in writes}:
        assert overlay.get(key) == model.get(key)
    assert overlay.write_count == len(writes)
    asked = sorted(set(model) | {k for k, _ in writes} | {b"\xff" * 4})
    assert overlay.get_many(asked) == [model.get(key) for key in asked]
    assert Overlay(_BatchReader(base)).get_many(list(base_items)) == list(base_items.values())
    # Sorted net writes, each key once.
    net = overlay.sorted_writes()
    assert [k for k, _ in net] == sorted({k for k, _ in writes})
    # The base was not touched, and base + net writes is the model.
    assert dict(base.scan(b"")) == dict(base_items)
    after = MemoryReader(dict(base_items))
    after.apply(net)
    assert dict(after.scan(b"")) == model
    # Scans merge in bytewise order and hide deletions.
    for prefix in (b"", b"\x00", b"a"):
        expected = sorted((k, v) for k, v in model.items() if k.startswith(prefix))
        assert list(overlay.scan(prefix)) == expected
        assert list(FrozenOverlay(base, net).scan(prefix)) == expected


def test_sorted_writes_are_bytewise_not_insertion_order() -> None:
    overlay = Overlay(MemoryReader())
    for key in (b"\xff", b"\x00\x01", b"\x00", b"b", b"a"):
        overlay.put(key, b"v")
    assert [k for k, _ in overlay.sorted_writes()] == [b"\x00", b"\x00\x01", b"a", b"b", b"\xff"]


class _Record:
    """A record put with `put_object`: encoded only when the writes are listed."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def encode(self) -> bytes:
        return b"r" + self.data


@given(
    st.dictionaries(keys, st.binary(max_size=4)),
    st.lists(
        st.one_of(
            st.tuples(st.just("put"), keys, st.binary(max_size=4)),
            st.tuples(st.just("object"), keys, st.binary(max_size=4)),
            st.tuples(st.just("delete"), keys, st.none()),
            st.tuples(st.just("scan"), st.binary(max_size=2), st.none()),
            st.tuples(st.just("list"), st.none(), st.none()),
            st.tuples(st.just("many"), st.none(), st.lists(st.tuples(keys, values))),
        )
    ),
)
@settings(max_examples=examples(300))
def test_scans_and_listings_between_writes_match_a_dict_model(base_items, steps) -> None:
    """The overlay's sorted keys are kept between scans and listings: every scan and every
    `sorted_writes()` made among puts, record puts, deletes and `put_many`s (keys new and
    rewritten, a record overwritten by bytes and bytes by a record) sees exactly the writes
    made so far, and `write_count` counts each."""
    overlay = Overlay(MemoryReader(dict(base_items)))
    model = dict(base_items)
    written: dict[bytes, bytes | None] = {}
    count = 0
    for step, key, value in steps:
        count += len(value) if step == "many" else step in ("put", "object", "delete")
        if step == "put":
            overlay.put(key, value)
            model[key] = written[key] = value
        elif step == "object":
            overlay.put_object(key, _Record(value))
            model[key] = written[key] = b"r" + value
        elif step == "delete":
            overlay.delete(key)
            model.pop(key, None)
            written[key] = None
        elif step == "many":
            overlay.put_many(value)
            for many_key, many_value in value:
                written[many_key] = many_value
                if many_value is None:
                    model.pop(many_key, None)
                else:
                    model[many_key] = many_value
        elif step == "scan":
            expected = sorted((k, v) for k, v in model.items() if k.startswith(key))
            assert list(overlay.scan(key)) == expected
        else:
            assert overlay.sorted_writes() == sorted(written.items())
    assert overlay.sorted_writes() == sorted(written.items())
    assert overlay.write_count == count
