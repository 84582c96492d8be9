"""apps invariants, named, checked after every block in tests.

- `escrow_matches_calls`: the `apps/escrow` account holds exactly the escrow of the calls not
  yet settled (FLX), and nothing of any other denomination.
- `records_are_complete`: the app count is the number of apps; each app has a record for every
  version 1..versions, whose module is held on chain or is a placed blob marked as a module
  (DeployStoredApp); each app's calls are numbered 0..calls-1.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.apps import keys
from metanode.state.apps.queries import apps, calls, is_stored, module, versions
from metanode.state.apps.records import CallStatus
from metanode.state.apps.rules import ESCROW
from metanode.state.bank.accounts import read_account
from metanode.state.staking.records import read_uint
from metanode.state.view import StateReader
from metanode.types import Denom


def escrow_matches_calls(reader: StateReader) -> None:
    held = 0
    for key, _value in reader.scan(keys.APP):
        for _seq, record in calls(reader, key[len(keys.APP) :]):
            if record.status is CallStatus.ESCROWED:
                held += record.escrow
    account = read_account(reader, ESCROW)
    check(
        account.balance(Denom.FLX) == held,
        f"apps.escrow_matches_calls: escrow {account.balance(Denom.FLX)} != calls {held}",
    )
    others = [denom for denom in Denom if denom is not Denom.FLX and account.balance(denom)]
    check(not others, f"apps.escrow_matches_calls: escrow holds {others}")


def records_are_complete(reader: StateReader) -> None:
    count = 0
    for app_id, record in apps(reader):
        count += 1
        found = versions(reader, app_id, record)
        check(
            len(found) == record.versions,
            f"apps.records_are_complete: {app_id.hex()} lacks a version record",
        )
        check(
            all(
                module(reader, version.module_hash) is not None
                or is_stored(reader, version.module_hash)
                for version in found
            ),
            f"apps.records_are_complete: a module of {app_id.hex()} is missing",
        )
        numbers = [seq for seq, _call in calls(reader, app_id)]
        check(
            numbers == list(range(record.calls)),
            f"apps.records_are_complete: {app_id.hex()} calls are not 0..{record.calls - 1}",
        )
    check(read_uint(reader, keys.APP_COUNT) == count, "apps.records_are_complete: app count")


INVARIANTS = (escrow_matches_calls, records_are_complete)
