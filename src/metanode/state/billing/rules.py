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
    epoch's statements. The figures are summed as integers and each statement built once: a
    statement added per call and per executor (three objects a call) and an address hashed from
    its key per leaf were 2.1 of a 256-call LogBlock's 4.6 ms of billing (docs/performance.md,
    "Apps, w20")."""
    app_id = logblock.app_id
    epoch, _seed = draw_seed(writer)
    keys_served = {leaf.executor for leaf in logblock.leaves}
    addresses = {key: Address.from_public_key(key) for key in keys_served}
    calls: list[Served] = []
    for seq, group in groupby(logblock.leaves, key=lambda leaf: leaf.call_seq):
        leaves = list(group)
        executors = [addresses[leaf.executor] for leaf in leaves]
        calls.append(Served(seq, leaves[0].fuel_used, executors))
    settled = settle_calls(writer, app_id, calls)
    if isinstance(settled, int):
        raise InvariantViolation(
            f"billing: settle_calls refused after the ladder: {name_of(settled)}"
        )
    fuel = charged = treasury = 0
    # Per executor: [calls, fuel, charged, paid to it, treasury].
    sums: dict[Address, list[int]] = {}
    for call, shares in zip(calls, settled, strict=True):
        fuel += call.fuel_used
        charged += shares.charge
        treasury += shares.treasury
        for executor in call.executors:
            mine = sums.setdefault(executor, [0, 0, 0, 0, 0])
            mine[0] += 1
            mine[1] += call.fuel_used
            mine[2] += shares.charge
            mine[3] += shares.each
            mine[4] += shares.treasury
    minted = {Address.from_public_key(key): amount for key, amount in rewards}
    app_total = Statement(
        len(calls), fuel, charged, charged - treasury, treasury, sum(minted.values())
    )
    add_to_statement(writer, keys.app_statement(app_id, epoch), app_total)
    for executor in sorted({*sums, *minted}, key=lambda address: address.raw):
        statement = Statement(*sums.get(executor, [0] * 5), minted=minted.get(executor, 0))
        add_to_statement(writer, keys.executor_statement(executor.raw, epoch), statement)
