"""billing invariants, named, checked after every block in tests.

- `statements_match_calls`: each app's statements add up to its settled calls (their number
  and fuel), and each statement's charge is exactly what was paid plus the treasury's part.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.apps.queries import apps, calls
from metanode.state.apps.records import CallStatus
from metanode.state.billing import keys
from metanode.state.billing.records import Statement, read_statement
from metanode.state.view import StateReader


def statements_match_calls(reader: StateReader) -> None:
    for app_id, _record in apps(reader):
        total = Statement()
        for key, _value in reader.scan(keys.APP_STATEMENT + app_id):
            statement = read_statement(reader, key)
            check(
                statement.charged == statement.paid + statement.treasury,
                f"billing.statements_match_calls: {key.hex()} charged != paid + treasury",
            )
            total += statement
        settled = [
            call for _seq, call in calls(reader, app_id) if call.status is CallStatus.SETTLED
        ]
        check(
            (total.calls, total.fuel) == (len(settled), sum(call.fuel_used for call in settled)),
            f"billing.statements_match_calls: {app_id.hex()} statements {total} vs calls",
        )


INVARIANTS = (statements_match_calls,)
