"""LogBlocks cut ahead of the chain (node/hosting.py): a notary chains the receipts of a range
from its own candidates of the ranges before, which the chain takes once those commit, and
submits all of an app's ranges itself, so they reach the chain in its nonce order."""

from __future__ import annotations

import nacl.signing
import pytest

from metanode.crypto.hashing import blake3_hash
from metanode.docklock.receipt import Receipt
from metanode.node.hosting import (
    Fallback,
    Held,
    _continues_chain,
    _linked,
    designated,
    fallback,
    fallback_rank,
    submit_wait_heights,
)
from metanode.state.codes import OK
from metanode.state.notary.committee import notary_committee
from metanode.types import LogLeaf
from tests.state.support import Chain
from tests.state.test_notary import APP, Submitter, chain, drawn_keys, logblock_of, receipt

__all__ = ["chain"]  # the fixture, imported for pytest


def held(
    keys: list[nacl.signing.SigningKey], first: int, last: int, previous: dict[bytes, bytes]
) -> list[Held]:
    """Each drawn executor's receipts of calls first..last, chained from `previous` (by key),
    in leaf order."""
    found = []
    for call in range(first, last + 1):
        for key in keys:
            made: Receipt = receipt(key, call, previous[bytes(key.verify_key)])
            previous[bytes(key.verify_key)] = made.hash()
            found.append(Held(made, made.leaf(call, 100_000, 2_000_000)))
    return sorted(found, key=lambda entry: entry.leaf.order)


def leaves(entries: list[Held]) -> list[LogLeaf]:
    return [entry.leaf for entry in entries]


def test_a_range_ahead_chains_from_the_candidates_before_it(chain: Chain) -> None:
    keys = drawn_keys(chain, 0)
    previous = {bytes(key.verify_key): bytes(32) for key in keys}
    first, second = held(keys, 0, 2, previous), held(keys, 3, 5, previous)
    reader = chain.state.reader
    assert _linked(reader, APP, first, []) == leaves(first)
    # Against the chain's tips alone the second range's receipts follow missing ones ...
    assert _linked(reader, APP, second, []) == []
    # ... but they chain from the first range's candidate.
    assert _linked(reader, APP, second, leaves(first)) == leaves(second)


def test_a_candidate_ahead_links_once_the_range_before_commits(chain: Chain) -> None:
    keys = drawn_keys(chain, 0)
    previous = {bytes(key.verify_key): bytes(32) for key in keys}
    first = logblock_of(chain, leaves(held(keys, 0, 2, previous)), 0, 2)
    second = logblock_of(chain, leaves(held(keys, 3, 5, previous)), 3, 5)
    assert _continues_chain(chain.state.reader, first)
    assert not _continues_chain(chain.state.reader, second)
    submitter = Submitter(chain)
    assert submitter.submit(first) == OK
    assert _continues_chain(chain.state.reader, second)
    assert submitter.submit(second) == OK


def test_one_member_submits_every_range_of_an_app_and_apps_are_spread(chain: Chain) -> None:
    committee = notary_committee(chain.state.reader)
    apps = [blake3_hash(bytes([index])) for index in range(16)]
    chosen = {designated(committee, app) for app in apps}
    assert designated(committee, APP) == designated(list(committee), APP)
    assert len(chosen) > 1
    assert chosen <= {member.address for member in committee}


@pytest.mark.parametrize(
    ("tip", "height", "due", "rank", "expected"),
    [
        (0, 5, None, 1, (Fallback.WAIT, None)),  # ranges before it still open: not due yet
        (3, 9, None, 1, (Fallback.WAIT, 9 + submit_wait_heights)),  # now the next one
        (3, 9, None, 3, (Fallback.WAIT, 9 + 3 * submit_wait_heights)),  # third in line
        (3, 10, 11, 1, (Fallback.WAIT, 11)),
        (3, 11, 11, 1, (Fallback.SUBMIT, 11)),  # still open when due: this member submits it
        (6, 11, 11, 1, (Fallback.DONE, 11)),  # the designated member's copy committed
    ],
)
def test_a_range_ahead_falls_due_only_after_it_became_the_next_one(
    tip: int, height: int, due: int | None, rank: int, expected: tuple[Fallback, int | None]
) -> None:
    # Counted from the aggregation, a range cut four ahead fell due while the designated
    # member's copy still waited in the pools behind the ranges before it, and each other
    # member submitted it again (docs/performance.md, "Apps, w13").
    assert fallback(3, tip, height, due, rank) == expected


def test_the_other_members_fall_due_one_after_another(chain: Chain) -> None:
    # With one wait for all, every member but a lagging designated one fell due for a range
    # at the same height, and each submitted a copy.
    committee = notary_committee(chain.state.reader)
    first = designated(committee, APP)
    ranks = {member.address: fallback_rank(committee, APP, member.address) for member in committee}
    assert ranks[first] == 0
    assert sorted(ranks.values()) == list(range(len(committee)))
    index = [member.address for member in committee].index(first)
    assert ranks[committee[(index + 1) % len(committee)].address] == 1
