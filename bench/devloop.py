"""The app developer's loop on a real dev chain (`metanode dev up`, a process of its own: real
signatures, CBOR, LMDB), driven from one persistent HTTP client (`metanode.devkit.chain`), as a
test suite drives it; a CLI per transaction would add its interpreter's start-up (~1 s).

    python -m bench.devloop [--accounts N] [--transfers N] [--calls N] [--reverts N]

- transfer: a transfer submitted and waited for (`GET /api/v1/txs/{hash}?wait_ms`), one at a
  time, from submission to the answer that it is committed;
- call: a CallApp of examples/counter.wat submitted, committed, and its executor's receipt read;
- revert: `POST /api/v1/dev/revert` to a snapshot after a few transfers, on a chain whose
  genesis funds `--accounts` more accounts (10,000 is the issue's size).

Last line: dev_transfer_p50_ms=… dev_call_p50_ms=… snapshot_revert_ms=…
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from metanode.devkit.chain import DevChain
from metanode.net.ports import free_port_block
from metanode.node import home as dev_home
from metanode.types import Address

ACCOUNTS = 10_000
TRANSFERS = 100
CALLS = 100
REVERTS = 10
COUNTER = Path(__file__).resolve().parent.parent / "examples" / "counter.wat"


def timed_ms(work: Callable[[], object], times: int) -> list[float]:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=ACCOUNTS, help="extra funded accounts")
    parser.add_argument("--transfers", type=int, default=TRANSFERS)
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--reverts", type=int, default=REVERTS)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory) / "chain"
        extra = [Address(os.urandom(20)) for _ in range(options.accounts)]
        base = free_port_block(2)
        dev_home.init_devchain(
            home, accounts=2, port_base=base, api_port_base=base + 1, extra_accounts=extra
        )
        with DevChain(home) as chain:
            key, recipient = chain.key("dev0"), extra[0] if extra else Address(os.urandom(20))
            chain.transfer(key, recipient, 1)  # warm: the first request opens the connection
            transfer = timed_ms(lambda: chain.transfer(key, recipient, 1), options.transfers)
            app = chain.deploy(key, COUNTER)
            chain.call(key, app, "increment")

            def call() -> None:
                result = chain.call(key, app, "increment")
                assert result.ok, result

            calls = timed_ms(call, options.calls)
            snapshot = chain.snapshot()

            def revert() -> None:
                for _ in range(3):
                    chain.transfer(key, recipient, 1)
                started = time.perf_counter()
                chain.revert(snapshot)
                reverts.append((time.perf_counter() - started) * 1000)

            reverts: list[float] = []
            timed_ms(revert, options.reverts)
            height = chain.height()
    print(
        f"dev chain: 1 validator, {options.accounts} extra genesis accounts, height {height}; "
        f"transfers {options.transfers}, calls {options.calls}, reverts {options.reverts}"
    )
    print(
        f"transfer p90 {statistics.quantiles(transfer, n=10)[-1]:.1f} ms, "
        f"call p90 {statistics.quantiles(calls, n=10)[-1]:.1f} ms, "
        f"revert max {max(reverts):.1f} ms"
    )
    print(
        f"dev_transfer_p50_ms={statistics.median(transfer):.1f} "
        f"dev_call_p50_ms={statistics.median(calls):.1f} "
        f"snapshot_revert_ms={statistics.median(reverts):.1f}"
    )


if __name__ == "__main__":
    main()
