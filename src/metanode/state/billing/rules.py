"""billing rules: the only code that writes statements; called by the notary's commit path
(`notary.rules.on_logblock_committed`) and by nothing else.

Rules:
- Each call of the LogBlock's range settles once (`apps.settle_call`, in call order) for the
  fuel its receipts report (the replicas agree, so every leaf of a call carries the same fuel;
  a trap reports the fuel it burned and pays for it) among the executors whose leaves it holds,
  in leaf order: the charge fuel × price, less the treasury's share, is split among them, the
  escrow's rest is refunded (apps/rules.py: `settlement`). An executor drawn but silent is
  neither paid nor charged: the others served the call.
- The statements of the epoch of the commit (the executor draw's epoch, state/apps/
  assignment.py) grow by what was settled and minted, per app and per executor.
- The notary ladder has ruled out every refusal settle_call can give, so a refusal here is a
  bug (`InvariantViolation`): a LogBlock never commits half-billed.
"""

from __future__ import annotations

from itertools import groupby

from metanode.errors import InvariantViolation, check
from metanode.state.apps.assignment import draw_seed
from metanode.state.apps.records import read_call
from metanode.state.apps.rules import settle_call, settlement
from metanode.state.billing import keys
from metanode.state.billing.records import Statement, add_to_statement
from metanode.state.codes import OK, name_of
from metanode.state.view import Overlay
from metanode.types import Address, LogBlock


def bill(writer: Overlay, logblock: LogBlock, rewards: tuple[tuple[bytes, int], ...]) -> None:
    """Settle every call of `logblock` and add it and `rewards` (executor key, NEX) to the
    epoch's statements."""
    app_id = logblock.app_id
    epoch, _seed = draw_seed(writer)
    app_total = Statement(minted=sum(amount for _key, amount in rewards))
    served: dict[Address, Statement] = {
        Address.from_public_key(key): Statement(minted=amount) for key, amount in rewards
    }
    for seq, group in groupby(logblock.leaves, key=lambda leaf: leaf.call_seq):
        leaves = list(group)
        fuel = leaves[0].fuel_used
        executors = [Address.from_public_key(leaf.executor) for leaf in leaves]
        record = read_call(writer, app_id, seq)
        if record is None:
            raise InvariantViolation(f"billing: call {seq} of {app_id.hex()} has no record")
        shares = settlement(writer, record, fuel, len(executors))
        code = settle_call(writer, app_id, seq, fuel, executors)
        check(code == OK, f"billing: settle_call refused after the ladder: {name_of(code)}")
        paid = shares.charge - shares.treasury
        app_total += Statement(1, fuel, shares.charge, paid, shares.treasury)
        for executor in executors:
            served[executor] = served.get(executor, Statement()) + Statement(
                1, fuel, shares.charge, shares.each, shares.treasury
            )
    add_to_statement(writer, keys.app_statement(app_id, epoch), app_total)
    for executor in sorted(served, key=lambda address: address.raw):
        add_to_statement(writer, keys.executor_statement(executor.raw, epoch), served[executor])
