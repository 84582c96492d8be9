"""Audit bundles on a real dev chain (one validator process, executor and notary, a block every
200 ms so that LogBlocks are cut after the last call): N calls of
examples/counter.wat, then `light.export` writes their bundle from the gateway and
`light.audit.verify` checks it offline, timed.

    python -m bench.audit [--calls N]    (from the repository's root)

Last line: records=… bundle_bytes_per_record=… export_ms=… verify_ms=… verify_ms_per_record=…
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tests.light.test_audit import wait_notarised

from metanode.devkit.chain import DevChain
from metanode.docklock import constants
from metanode.light import audit, export
from metanode.light.fetcher import HttpSource
from metanode.types import CallApp

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
CALLS = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    calls = parser.parse_args().calls
    with (
        tempfile.TemporaryDirectory() as home,
        DevChain(Path(home) / "chain", block_interval_ms=200) as chain,
    ):
        key = chain.key()
        app = chain.deploy(key, EXAMPLES / "counter.wat")
        start = chain.height() + 1
        hashes = [chain.submit(key, _call(app)) for _ in range(calls)]
        for tx_hash in hashes:
            chain.wait(tx_hash)
        wait_notarised(chain, app, calls - 1)
        source = HttpSource(chain.url)
        began = time.perf_counter()
        done = export.export(source, bytes.fromhex(app), start, chain.height())
        export_ms = (time.perf_counter() - began) * 1000
        source.close()
        data = done.bundle.encode()
        began = time.perf_counter()
        report = audit.verify(data)
        verify_ms = (time.perf_counter() - began) * 1000
    records = len(report.records)
    if not report.all_verified or records != calls:
        raise SystemExit(f"{records} records, all verified: {report.all_verified}")
    print(
        f"records={records} bundle_bytes_per_record={len(data) // records} "
        f"export_ms={export_ms:.0f} verify_ms={verify_ms:.0f} "
        f"verify_ms_per_record={verify_ms / records:.2f}"
    )


def _call(app: str) -> CallApp:
    return CallApp(bytes.fromhex(app), 0, "increment", b"", constants.fuel_max)


if __name__ == "__main__":
    main()
