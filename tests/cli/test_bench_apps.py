"""bench/apps.py's senders: past the dev accounts' ~1,200 calls (19 senders × nonce_gap_max),
the calls come from fresh accounts that the dev accounts fund, each sender's calls and each
funder's transfers within the nonce gap, so that a batch of 5,000 waits in the pool at once;
its figures' line; and its rate mode (`--rate R --duration S`), which offers the calls in
slices every 100 ms and sees every call's receipt and LogBlock."""

from __future__ import annotations

import collections
import importlib.util
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest

from metanode.crypto import ed25519
from metanode.errors import BenchError
from metanode.mempool import constants as mempool_constants
from metanode.types import Address
from tests.cli.test_apps_e2e import calls
from tests.node.cluster import Cluster


def _apps() -> Any:
    path = Path(__file__).parents[2] / "bench/apps.py"
    spec = importlib.util.spec_from_file_location("bench_apps", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nonces_by_sender(txs: list[Any]) -> dict[bytes, list[int]]:
    found: dict[bytes, list[int]] = collections.defaultdict(list)
    for tx in txs:
        found[tx.sender].append(tx.nonce)
    return found


def test_five_thousand_calls_fit_the_nonce_gap_of_funded_fresh_senders(tmp_path: Path) -> None:
    bench = _apps()
    cluster = Cluster.at(tmp_path, {})
    senders = bench.fresh_accounts(5_000)
    again = bench.fresh_accounts(5_000)  # the same keys every run
    assert [key.public_key for key in senders] == [key.public_key for key in again]
    assert len(senders) == 100
    funders = [ed25519.PrivateKey.from_seed(bytes([index]) * 32) for index in range(1, 20)]
    transfers = bench.funding(funders, senders, cluster)
    assert sorted(tx.message.to for tx in transfers) == sorted(
        Address.from_public_key(key.public_key) for key in senders
    )
    for txs in (transfers, calls(cluster, bytes(32), 5_000, senders=senders)):
        for nonces in nonces_by_sender(txs).values():
            assert nonces == list(range(len(nonces)))
            assert len(nonces) <= mempool_constants.nonce_gap_max
    assert len(calls(cluster, bytes(32), 5_000, senders=senders)) == 5_000
    with pytest.raises(BenchError):
        bench.funding(funders[:1], senders * 2, cluster)


def test_cpu_seconds_reads_a_process_user_and_system_time() -> None:
    bench = _apps()
    tick = 1 / os.sysconf("SC_CLK_TCK")
    before = time.process_time()
    while time.process_time() - before < 0.2:  # some CPU of this process's own to read back
        pass
    read = bench.cpu_seconds(os.getpid())
    assert before - tick <= read <= time.process_time() + tick


def test_the_last_line_names_every_figure() -> None:
    figures = _apps().Figures(250.04, 812.4, 1_630.6, 6.44, 1.234, 0.12, 17, 30)
    assert figures.line() == (
        "calls_per_s=250.0 call_to_receipt_p50_ms=812 call_to_logblock_p50_ms=1631 "
        "nodes_cpu_s=6.4 nodes_cpu_ms_per_call=1.23 client_cpu_s=0.1 catch_up_calls=17 "
        "unchecked_receipts=30"
    )


def test_catch_up_calls_and_unchecked_receipts_add_up_the_nodes_log_lines() -> None:
    logs = "\n".join(
        [
            '{"message": "executing calls", "first_seq": 0, "last_seq": 9, "catching_up": 4}',
            '{"message": "committed", "height": 3}',
            '{"message": "executing calls", "first_seq": 10, "last_seq": 19, "catching_up": 0}',
            '{"message": "executing calls", "first_seq": 20, "last_seq": 29, "catching_up": 6}',
            '{"message": "peer receipts held already", "peer": "mn1q", "unchecked": 7}',
            "a line printed outside the log",
        ]
    )
    assert _apps().logged(logs, "executing calls", "catching_up") == 10
    assert _apps().logged(logs, "peer receipts held already", "unchecked") == 7


def test_the_bench_runs_on_the_genesis_epoch_and_other_clusters_on_one_block(
    tmp_path: Path,
) -> None:
    """bench.apps passes `epoch_blocks=None` to the cluster unless --epoch-blocks is given."""
    Cluster(tmp_path / "bench", validators=1, epoch_blocks=None)
    Cluster(tmp_path / "test", validators=1)
    bench = json.loads((tmp_path / "bench" / "genesis.json").read_text())["parameters"]
    test = json.loads((tmp_path / "test" / "genesis.json").read_text())["parameters"]
    assert "staking" not in bench
    assert test["staking"] == {"epoch_blocks": 1}


def test_each_gateway_is_asked_only_for_receipts_after_the_last_it_served() -> None:
    """A gateway's receipts come in seq order, so its next page starts after its last one;
    a call's time is the first answer that held its receipt, from any gateway."""
    poll = _apps().ReceiptPoll(["v0", "v1"], "ab" * 32)
    assert poll.path("v0") == f"/api/v1/apps/{'ab' * 32}/receipts?from=0&limit=500"
    poll.take("v0", 1.0, {"receipts": [{"seq": seq} for seq in range(5)]})
    poll.take("v1", 1.5, {"receipts": [{"seq": seq} for seq in (3, 4, 6)]})
    poll.take("v0", 2.0, {})  # a timed-out poll
    assert poll.path("v0").endswith("?from=5&limit=500")
    assert poll.path("v1").endswith("?from=7&limit=500")
    assert poll.seen == {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 6: 1.5}


def test_a_slice_of_calls_is_due_every_tenth_of_a_second_at_the_rate(tmp_path: Path) -> None:
    bench = _apps()
    txs = calls(Cluster.at(tmp_path, {}), bytes(32), 75, senders=bench.fresh_accounts(75))
    due = bench.slices(txs, 25, 3)
    assert len(due) == 30
    assert [len(calls_due) for calls_due in due[:8]] == [2, 3, 2, 3, 2, 3, 2, 3]
    assert [tx for calls_due in due for tx in calls_due] == txs


def test_the_rate_mode_line_adds_the_offered_rate_and_the_mode() -> None:
    bench = _apps()
    figures = bench.Figures(250.04, 812.4, 1_630.6, 6.44, 1.234, 0.12, 17, 30)
    rated = bench.RateFigures(figures, 300, 3_000, 3_000, 3_000, 2_400, 2_400, 0)
    assert rated.line() == figures.line() + " offered_per_s=300 mode=rate"


RATE_LINE = re.compile(
    r"calls_per_s=\d+\.\d call_to_receipt_p50_ms=\d+ call_to_logblock_p50_ms=\d+ "
    r"nodes_cpu_s=\d+\.\d nodes_cpu_ms_per_call=-?\d+\.\d\d client_cpu_s=\d+\.\d "
    r"catch_up_calls=\d+ unchecked_receipts=\d+ offered_per_s=20 mode=rate"
)


@pytest.mark.slow  # a network's start, funding and deploy: ~25 s idle, a minute or more loaded
def test_a_sustained_rate_sees_every_call_s_receipt_and_logblock() -> None:
    """20 calls a second for 4 s on a real network: every call's receipt and LogBlock seen,
    the window (after the first 0.8 s) holding the 64 calls offered in it, all notarised."""
    rated = _apps().run_rate(20, 4)
    assert RATE_LINE.fullmatch(rated.line()), rated.line()
    assert (rated.calls, rated.receipts_seen, rated.logblocks_seen) == (80, 80, 80)
    assert (rated.window_calls, rated.window_calls_landed, rated.never_accepted) == (64, 64, 0)
