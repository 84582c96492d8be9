"""billing rules: the only code that writes statements; called by the notary's commit path
(`notary.rules.on_logblock_committed`) and by nothing else.

Rules:
- Each call of the LogBlock's range settles once (`apps.settle_calls`, in call order) for the
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

from metanode.errors import InvariantViolation
from metanode.state.apps.assignment import draw_seed
from metanode.state.apps.rules import Served, settle_calls
from metanode.state.billing import keys
from metanode.state.billing.records import Statement, add_to_statement
from metanode.state.codes import name_of
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
    calls: list[Served] = []
    for seq, group in groupby(logblock.leaves, key=lambda leaf: leaf.call_seq):
        leaves = list(group)
        executors = [Address.from_public_key(leaf.executor) for leaf in leaves]
        calls.append(Served(seq, leaves[0].fuel_used, executors))
    settled = settle_calls(writer, app_id, calls)
    if isinstance(settled, int):
        raise InvariantViolation(
            f"billing: settle_calls refused after the ladder: {name_of(settled)}"
        )
    for call, shares in zip(calls, settled, strict=True):
        paid = shares.charge - shares.treasury
        app_total += Statement(1, call.fuel_used, shares.charge, paid, shares.treasury)
        for executor in call.executors:
            served[executor] = served.get(executor, Statement()) + Statement(
                1, call.fuel_used, shares.charge, shares.each, shares.treasury
            )
    add_to_statement(writer, keys.app_statement(app_id, epoch), app_total)
    for executor in sorted(served, key=lambda address: address.raw):
        add_to_statement(writer, keys.executor_statement(executor.raw, epoch), served[executor])
