"""court invariants, named, checked after every block in tests (and by `metanode store check`).

- `bonds_are_held`: `court/bonds` holds exactly the bonds of the open challenges, and
  `court/slashed` nothing between blocks (a slash passes through it inside `finish`).
- `open_disputes_have_one_deadline`: the open count is the number of open disputes, each
  with exactly one deadline record, and closed ones have none.
- `apps_index_their_disputes`: each dispute is in its app's index, and each app's open and
  settled counts are those of its disputes.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.bank.accounts import read_account
from metanode.state.court import keys, queries
from metanode.state.court.consequences import BONDS, SLASHED
from metanode.state.court.records import AppDisputes, Kind
from metanode.state.view import StateReader
from metanode.types import Denom


def bonds_are_held(reader: StateReader) -> None:
    held = sum(
        found.bond
        for _id, found in queries.disputes(reader, queries.count(reader))
        if found.kind is Kind.CHALLENGE and found.status.is_open
    )
    check(
        read_account(reader, BONDS).balance(Denom.FLX) == held,
        f"court.bonds_are_held: the pool does not hold the {held} of open bonds",
    )
    check(
        read_account(reader, SLASHED).balance(Denom.GEN) == 0,
        "court.bonds_are_held: slashed stake left in the court's pass-through account",
    )


def open_disputes_have_one_deadline(reader: StateReader) -> None:
    deadlines: dict[int, int] = {}
    for key, _value in reader.scan(keys.DEADLINE):
        dispute_id = int.from_bytes(key[-8:], "big")
        deadlines[dispute_id] = deadlines.get(dispute_id, 0) + 1
    opened = 0
    for dispute_id, found in queries.disputes(reader, queries.count(reader)):
        expected = 1 if found.status.is_open else 0
        opened += expected
        check(
            deadlines.get(dispute_id, 0) == expected,
            f"court.open_disputes_have_one_deadline: dispute {dispute_id}",
        )
    check(
        opened == queries.open_count(reader),
        "court.open_disputes_have_one_deadline: the open count is off",
    )


def apps_index_their_disputes(reader: StateReader) -> None:
    counted: dict[bytes, AppDisputes] = {}
    for dispute_id, found in queries.disputes(reader, queries.count(reader)):
        app = found.app_id
        check(
            reader.get(keys.app_dispute(app, dispute_id)) is not None,
            f"court.apps_index_their_disputes: dispute {dispute_id} is not in its app's index",
        )
        counts = counted.get(app, AppDisputes())
        is_open = found.status.is_open
        counted[app] = AppDisputes(counts.open + int(is_open), counts.settled + int(not is_open))
    indexed = sum(1 for _ in reader.scan(keys.APP_DISPUTE))
    check(
        indexed == queries.count(reader),
        "court.apps_index_their_disputes: the index holds other disputes",
    )
    for app in sorted(counted):
        check(
            queries.of_app(reader, app) == counted[app],
            f"court.apps_index_their_disputes: app {app.hex()}'s counts are off",
        )


INVARIANTS = (bonds_are_held, open_disputes_have_one_deadline, apps_index_their_disputes)
