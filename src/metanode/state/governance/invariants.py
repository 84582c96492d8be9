"""governance invariants, named, checked after every block in tests.

- `deposits_are_held`: the `governance/deposits` pool holds exactly the sum of the stored
  deposits; each deposit belongs to a proposal in its deposit or voting period, and each such
  proposal's `total_deposit` is the sum of its deposits (closed proposals hold none). Burned
  deposits leave the supply through bank's `burn`, so `bank.supply_is_held` covers the rest:
  governance creates no coin and loses none.
- `records_match_indexes`: an open marker exists exactly for each open proposal; votes exist
  only for proposals in their voting period; every id is below the next id.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.bank.accounts import read_account
from metanode.state.governance import keys
from metanode.state.governance.queries import proposals
from metanode.state.governance.records import (
    Status,
    read_proposal,
)
from metanode.state.governance.rules import DEPOSITS_POOL
from metanode.state.staking.records import read_uint
from metanode.state.view import StateReader
from metanode.types import Denom


def deposits_are_held(reader: StateReader) -> None:
    by_proposal: dict[int, int] = {}
    for key, _value in reader.scan(keys.DEPOSIT):
        amount = read_uint(reader, key)
        check(amount > 0, f"governance.deposits_are_held: zero deposit at {key.hex()}")
        proposal_id = keys.id_of(key, keys.DEPOSIT)
        by_proposal[proposal_id] = by_proposal.get(proposal_id, 0) + amount
    for record in proposals(reader):
        holds = record.status in (Status.DEPOSIT_PERIOD, Status.VOTING_PERIOD)
        check(
            by_proposal.pop(record.id, 0) == (record.total_deposit if holds else 0),
            f"governance.deposits_are_held: proposal {record.id} ({record.status.name}) "
            f"records {record.total_deposit}",
        )
    check(not by_proposal, f"governance.deposits_are_held: deposits for unknown {by_proposal}")
    pool = read_account(reader, DEPOSITS_POOL).balance(Denom.GEN)
    total = sum(read_uint(reader, key) for key, _value in reader.scan(keys.DEPOSIT))
    check(pool == total, f"governance.deposits_are_held: pool {pool} != deposits {total}")


def records_match_indexes(reader: StateReader) -> None:
    next_id = read_uint(reader, keys.NEXT_ID)
    for record in proposals(reader):
        check(record.id < next_id, f"governance.records_match_indexes: id {record.id} ≥ next")
        marked = reader.get(keys.open_marker(record.id)) is not None
        check(
            marked == record.status.is_open,
            f"governance.records_match_indexes: proposal {record.id} open marker",
        )
    for key, _value in reader.scan(keys.OPEN):
        check(
            reader.get(keys.PROPOSAL + key[len(keys.OPEN) :]) is not None,
            "governance.records_match_indexes: an open marker without a proposal",
        )
    for key, _value in reader.scan(keys.VOTE):
        record = read_proposal(reader, keys.id_of(key, keys.VOTE))
        check(
            record is not None and record.status is Status.VOTING_PERIOD,
            f"governance.records_match_indexes: a vote outside a voting period at {key.hex()}",
        )


INVARIANTS = (deposits_are_held, records_match_indexes)
