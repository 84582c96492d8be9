"""State sync against block replay on a real chain of N transfers (processes, TLS, LMDB).

    python -m bench.sync [--transfers N] [--accounts A]    (from the repository's root)

The cheapest honest long chain: a dev home of two validators where v1's stake is a thousandth of
v0's, so v0 alone holds a quorum and commits big blocks (`block_txs_max` 20,000) by itself. N
real signed transfers go through v0's gateway in waves (each account's next 64 nonces), v0
makes a snapshot every `SNAPSHOT_INTERVAL` blocks. Then v1, whose ledger holds only genesis,
joins twice: once by state sync (`[sync] state_sync`), once by replaying every block from v0
(its stores wiped in between). Each time is from v1's "node started" log line to its height
reaching the height v0 had then (process start-up, the same for both, is left out).

Last line: state_sync_s=… block_replay_s=… transfers=… height=…
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from tests.node.cluster import Cluster, running, tiny_second_validator

from metanode.node import snapshots
from metanode.types import Address

# About a minute on the shared 2-core VM; the figure: --transfers 1000000.
TRANSFERS = 5_000
ACCOUNTS = 200
WAVE_NONCES = 64  # the mempool's nonce_gap_max: a sender's pending nonces in one wave
SNAPSHOT_INTERVAL = 5
SUBMIT_TXS_MAX = 5_000  # per request, under the gateway's request_bytes_max
TIMEOUT_S = 24 * 3600.0
SETTINGS = {
    "block_txs_max": 20_000,
    "txs_max": 200_000,
    "empty_block_delay_ms": 200,
    "snapshot_interval_blocks": SNAPSHOT_INTERVAL,
}


def load(cluster: Cluster, transfers: int) -> None:
    keys = cluster.dev_keys()
    per_account = -(-transfers // len(keys))
    sent = 0
    for first in range(0, per_account, WAVE_NONCES):
        wave = []
        for index, key in enumerate(keys):
            to = keys[(index + 1) % len(keys)].public_key
            for nonce in range(first, min(first + WAVE_NONCES, per_account)):
                if sent + len(wave) < transfers:
                    wave.append(cluster.transfer(key, nonce, Address.from_public_key(to), 1))
        for start in range(0, len(wave), SUBMIT_TXS_MAX):
            cluster.submit("v0", wave[start : start + SUBMIT_TXS_MAX])
        sent += len(wave)
        cluster.wait(lambda: _mempool(cluster) == 0, TIMEOUT_S, "the wave to commit")
        print(f"  {sent} transfers committed, height {cluster.height('v0')}", flush=True)


def _mempool(cluster: Cluster) -> int:
    status = cluster.status("v0")
    return -1 if status is None else int(status["mempool"])


def join(cluster: Cluster, state_sync: bool) -> tuple[float, int]:
    """Seconds from v1 running on an empty ledger to its reaching v0's height; that height."""
    node_dir = cluster.home / "nodes" / "v1"
    for store in ("ledger", "consensus", "executor", snapshots.SNAPSHOTS_DIR):
        shutil.rmtree(node_dir / store, ignore_errors=True)
    for printed in [*node_dir.glob("node.log*"), node_dir / "stderr.log"]:
        printed.unlink(missing_ok=True)  # its "node started" must be this run's
    config = node_dir / "config.toml"
    setting = f"state_sync = {str(state_sync).lower()}"
    text = config.read_text().replace("state_sync = true", setting)
    config.write_text(text.replace("state_sync = false", setting))
    cluster.start("v1")
    # From the moment v1 runs (its start-up, slow on a shared machine, is not the sync's), to
    # its reaching the height v0 had then.
    cluster.wait(lambda: '"node started"' in cluster.log("v1"), TIMEOUT_S, "v1 to start")
    started = time.monotonic()
    target = cluster.height("v0")
    cluster.wait_height(target, ["v1"], timeout_s=TIMEOUT_S)
    elapsed = time.monotonic() - started
    cluster.kill("v1")
    return elapsed, target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=TRANSFERS)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as directory,
        running(
            Path(directory) / "net",
            2,
            SETTINGS,
            genesis=tiny_second_validator,
            accounts=options.accounts,
        ) as cluster,
    ):
        cluster.kill("v1")  # it joins later; v0 alone holds a quorum
        cluster.wait_height(1, ["v0"], timeout_s=120)
        print(f"one validator, {options.accounts} accounts, {options.transfers} transfers")
        load(cluster, options.transfers)
        last = cluster.height("v0")
        held = cluster.home / "nodes" / "v0" / snapshots.SNAPSHOTS_DIR
        cluster.wait(
            lambda: any(height >= last for height in snapshots.held(held)),
            TIMEOUT_S,
            "a snapshot above the last transfer",
        )
        state_sync_s, height = join(cluster, state_sync=True)
        print(f"  state sync to height {height}: {state_sync_s:.2f} s", flush=True)
        block_replay_s, height = join(cluster, state_sync=False)
        print(f"  block replay to height {height}: {block_replay_s:.2f} s", flush=True)
    print(
        f"state_sync_s={state_sync_s:.2f} block_replay_s={block_replay_s:.2f} "
        f"transfers={options.transfers} height={height}"
    )


if __name__ == "__main__":
    main()
