"""Block execution alone: the compiled core's transfer runs against the reference loop.

One block of 5,000 signed FLX transfers (distinct senders among 25,000 funded accounts,
signatures marked verified, as a follower that admitted them) is executed by the state
machine's `_execute` (the guard ladder, the charge, the transfer rule, the block's end: no
state tree, no receipts root, no store) on an in-memory ledger, ROUNDS times each way,
alternating, in one process: with the compiled core (`METANODE_CORE` unset) and with the
reference loop (the machine's `native` made to answer None, so that only the execution
changes, not the decoding or the tree). Timed by the process's CPU clock, so other work on
the machine does not count; the node's collector settings apply.

Last line: execute_reference_tps=… execute_core_tps=… core_over_reference=…
(medians over the rounds).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from ledger import first_transfers  # bench/ledger.py, beside this script
from metanode.node.collector import tune_for_node
from metanode.state import machine
from metanode.state.context import BlockContext
from metanode.state.genesis.chain import read_chain
from metanode.state.ledger import MemoryLedger

SENDERS = 5_000
ACCOUNTS = 25_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    rng = random.Random(7)
    document, proposer, txs = first_transfers(SENDERS, ACCOUNTS, rng)
    state = MemoryLedger(document).state
    verified = frozenset(tx.hash() for tx in txs)
    context = BlockContext(read_chain(state.reader), 1, document.genesis_time_ms + 1_000, proposer)
    tune_for_node()
    compiled = machine.native
    seconds: dict[str, list[float]] = {"reference": [], "core": []}
    for _ in range(rounds):
        for side, values in seconds.items():
            machine.native = compiled if side == "core" else lambda: None  # type: ignore[assignment]
            begun = time.process_time()
            run = machine._execute(state, context, txs, verified, True, strict=True)
            values.append(time.process_time() - begun)
            assert len(run.receipts) == SENDERS and all(r.code == 0 for r in run.receipts)
    machine.native = compiled  # type: ignore[assignment]
    for side, values in seconds.items():
        print(f"{side}: " + " ".join(f"{SENDERS / value:.0f}" for value in values) + " tx/s")
    reference = statistics.median(seconds["reference"])
    core = statistics.median(seconds["core"])
    print(
        f"execute_reference_tps={SENDERS / reference:.0f} execute_core_tps={SENDERS / core:.0f} "
        f"core_over_reference={reference / core:.2f}"
    )


if __name__ == "__main__":
    main()
