"""The app state hand-over in pages (executor/handover.py): a state larger than one page is cut
into pages within the byte bound, each checked against the receipt's root as it arrives and
put back together whole; a bad page is refused by its number and reason."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.docklock.appstate import state_root
from metanode.docklock.live import LiveState
from metanode.executor.handover import Assembly, Page, PageRefused, paginate
from metanode.executor.service import Published
from metanode.net import constants as net_constants
from metanode.net.frames import AppState, decode_frame, encode_frame

from .helpers import COUNTER_ID, KV_ID, call, running

PAGE_BYTES = 8 * 1024
STATE = {f"key-{index:05}".encode(): bytes([index % 251]) * (index % 90) for index in range(1500)}


def assemble(root: bytes, pages: list[Page]) -> LiveState:
    assembly = Assembly(root, pages[0])
    live = None
    for page in pages:
        live = assembly.add(page)
    assert live is not None and live.root == root
    return live


def page_bytes(page: Page) -> int:
    return sum(len(key) + len(value) + 11 for key, value in page.pairs) + len(page.proof)


def test_a_state_larger_than_a_page_is_cut_into_pages_that_rebuild_it() -> None:
    pages = paginate(STATE, PAGE_BYTES)
    assert len(pages) > 10
    assert all(page_bytes(page) <= PAGE_BYTES for page in pages)
    assert [page.index for page in pages] == list(range(len(pages)))
    assert {(page.pages, page.count) for page in pages} == {(len(pages), len(STATE))}
    assert sum(len(page.pairs) for page in pages) == len(STATE)
    assert assemble(state_root(STATE), pages).state == STATE


@settings(max_examples=25, deadline=None)
@given(
    st.dictionaries(st.binary(max_size=8), st.binary(max_size=300), max_size=60),
    st.integers(min_value=2048, max_value=8192),
)
def test_any_state_round_trips_at_any_page_size(state: dict[bytes, bytes], size: int) -> None:
    pages = paginate(state, size)
    assert all(page_bytes(page) <= size for page in pages)
    assert assemble(state_root(state), pages).state == state


def test_the_empty_state_is_one_page() -> None:
    pages = paginate({}, PAGE_BYTES)
    assert [(page.index, page.pages, page.count, page.pairs) for page in pages] == [(0, 1, 0, ())]
    assert assemble(state_root({}), pages).state == {}


def refusal(pages: list[Page], root: bytes | None = None) -> tuple[int, str]:
    with pytest.raises(PageRefused) as refused:
        assemble(state_root(STATE) if root is None else root, pages)
    assert str(refused.value).startswith(f"app state page {refused.value.index}: ")
    return refused.value.index, refused.value.reason


def test_a_bad_page_is_refused_by_its_number() -> None:
    pages = paginate(STATE, PAGE_BYTES)
    third = pages[3]
    key, value = third.pairs[0]
    changed = dataclasses.replace(third, pairs=((key, value + b"!"), *third.pairs[1:]))
    assert refusal([*pages[:3], changed, *pages[4:]]) == (3, "entry_not_proven")
    # A page that is not the next is named by its own number.
    assert refusal([*pages[:3], *pages[4:]]) == (4, "page_out_of_order")
    swapped = dataclasses.replace(third, pairs=(third.pairs[1], third.pairs[0], *third.pairs[2:]))
    assert refusal([*pages[:3], swapped, *pages[4:]]) == (3, "page_out_of_order")
    other = paginate({**STATE, b"extra": b"x"}, PAGE_BYTES)
    assert refusal([*pages[:3], other[3], *pages[4:]])[0] == 3
    assert refusal(pages, root=state_root({b"another": b"state"})) == (0, "page_proof_invalid")
    garbage = dataclasses.replace(third, proof=b"\x01")
    assert refusal([*pages[:3], garbage, *pages[4:]]) == (3, "page_proof_invalid")
    # An entry left out is found once the pages are done: the last one falls short.
    short = dataclasses.replace(third, pairs=third.pairs[1:])
    assert refusal([*pages[:3], short, *pages[4:]]) == (len(pages) - 1, "pages_short_of_count")


def test_a_first_page_claiming_an_impossible_state_is_refused() -> None:
    first = paginate(STATE, PAGE_BYTES)[0]
    for changed, reason in [
        (dataclasses.replace(first, pages=0), "page_count_out_of_range"),
        (dataclasses.replace(first, count=10**9), "count_out_of_range"),
    ]:
        with pytest.raises(PageRefused) as refused:
            Assembly(state_root(STATE), changed)
        assert (refused.value.index, refused.value.reason) == (0, reason)
    lying = dataclasses.replace(first, count=len(STATE) + 1)
    assert refusal([lying]) == (0, "page_count_not_proven")


def test_a_full_page_fits_a_frame_with_its_receipt() -> None:
    big = {index.to_bytes(4, "big"): bytes(60_000) for index in range(40)}
    page = paginate(big, net_constants.app_state_page_bytes_max)[0]
    frame = AppState(
        bytes(32), 7, bytes(600), page.index, page.pages, page.count, page.pairs, page.proof
    )
    assert decode_frame(encode_frame(frame)[4:]) == frame


def test_a_replicas_served_state_handed_over_in_pages_answers_later_calls_alike(
    tmp_path: Path,
) -> None:
    """With real LMDB and the cage: the state a replica serves (`ExecutorService.pages`, from
    `state_at`, and at the head from the tree it keeps) crosses in pages, checked against its
    receipt's root, and the executor that installs it signs the same results as the replica
    for the calls after."""
    replica: list[Published] = []
    puts = [call(seq, KV_ID, "put", f"key{seq:03}={'v' * 200}".encode()) for seq in range(120)]
    with running(tmp_path / "replica", index=1, publish=replica.append) as service:
        service.on_committed(puts)
        service.wait_idle()
        served = service.store.state_at(KV_ID, 0, 99)
        asked = service.pages(KV_ID, 0, 99, 4096).result()
        head = service.store.state_at(KV_ID, 0, 119)
        at_head = service.pages(KV_ID, 0, 119, 4096).result()
        assert service.pages(COUNTER_ID, 0, 5, 4096).result() is None
    assert served is not None and served.receipt.seq == 99
    pages = paginate(served.state, 4096)
    assert asked == (served.receipt, pages)
    assert head is not None and at_head == (head.receipt, paginate(head.state, 4096))
    assert len(pages) > 3
    live = assemble(served.receipt.receipt.state_root_after, pages)
    assert live.state == served.state
    drawn_anew: list[Published] = []
    with running(tmp_path / "new", index=2, publish=drawn_anew.append) as service:
        service.on_committed(puts[100:])
        service.install(KV_ID, 99, live)
        service.wait_idle()
    for mine, theirs in zip(drawn_anew, replica[100:], strict=True):
        assert mine.receipt.result_hash() == theirs.receipt.result_hash()
