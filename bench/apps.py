"""Apps end to end on a real 4-validator dev network (processes, TLS sockets, LMDB): deploy
examples/counter.wat with 2 replicas, submit N calls in one batch, and time each call from its
submission to the first receipt a gateway serves and to the LogBlock on chain that holds it.

The calls come from fresh accounts that the dev accounts fund first, by real transfers: a
sender's calls all wait in the pool at once only within the mempool's `nonce_gap_max` (64), so
the 19 dev accounts alone would cap a batch near 1,200 calls.

    python -m bench.apps [--calls N] [--epoch-blocks B]    (from the repository's root)
    python -m bench.apps --rate R [--duration S] [--epoch-blocks B]

`--epoch-blocks` sets the genesis `staking.epoch_blocks` (default: the genesis default,
`StakingParams`, 100). The executor draw is made per epoch, so with epochs of one block the
app's two replicas change at nearly every height, and a node drawn again after a block it was
not drawn for first runs the calls it missed (or is handed the state): in a 2,000-call run the
four nodes ran 6,288 calls for the 4,000 receipts of two replicas. catch_up_calls counts those
runs, from the nodes' "executing calls" log lines, and unchecked_receipts the peers' receipts
the notaries took no signature check for (held already, or of calls notarised since: "peer
receipts held already").

call_to_receipt is the time from the submission's start (the batch sent to the four gateways
at once) to the first answer of a gateway's `GET /api/v1/apps/{app}/receipts` that holds the
call's receipt: the executor has committed it to its store (`executor.service`), which a gateway
serves. Times are seen by polling all gateways at once, POLL_S after the last poll's answers,
so they are late by up to that and a poll's own time (`ReceiptPoll`). calls_per_s is N over
the time from the submission to the last call's LogBlock on chain.
nodes_cpu_s is the CPU seconds (user and system, from /proc) the four node processes spent
from the submission to the last LogBlock seen, and client_cpu_s this process's own in that
time: on the shared machine the rate follows the cores a run gets, the CPU spent for the same
calls does not. (A node's start, funding and deploy alone took ~11.6 s of the nodes' CPU, a
20-call run at a load of 6, so the whole processes' CPU would hide the calls' share.) Idle,
the four nodes still spend CPU on their empty heights, so nodes_cpu_s grows with a run's
length; nodes_cpu_ms_per_call takes off what they spent at the rate of an idle window of
IDLE_S just before the submission and divides the rest by the calls.

A batch mixes throughput with the pipeline's latency (the batch queues: 1,000 calls gave ~400
calls/s at a receipt p50 of ~700 ms, 3,000 calls 844 calls/s at 1.9 s). `--rate R --duration
S` offers a sustained rate instead, as `metanode bench --rate` does for transfers: R·S calls
from fresh accounts (CALLS_PER_ACCOUNT each), all signed before the load; then every 1/10 s
the slice of calls due is handed to four clients, one a gateway (each sender's calls always
to the same one), each submitting all it was handed since its last request, and first again
what its pool refused for being full, in nonce order. A call is timed from the moment its
slice was handed over, so a client or a pool that falls behind shows in the latencies. The
figures are over the window after a warm-up (the load's first WARMUP_FRACTION): calls_per_s
is the calls whose LogBlock was seen in the window over its length, the p50s are over the
calls offered in it (one not seen DRAIN_S after the load counts with the time to then, a
lower bound), and nodes_cpu_s, nodes_cpu_ms_per_call (over the calls notarised in the window)
and client_cpu_s are the window's. A run in which no LogBlock landed in the window fails.

Last line: calls_per_s=… call_to_receipt_p50_ms=… call_to_logblock_p50_ms=… nodes_cpu_s=…
nodes_cpu_ms_per_call=… client_cpu_s=… catch_up_calls=… unchecked_receipts=…, and at a rate
offered_per_s=… mode=rate.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import queue
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from tests.cli.test_apps_cli import COUNTER, bpi
from tests.cli.test_apps_e2e import calls
from tests.node.cluster import Cluster, running

from metanode.crypto import ed25519
from metanode.docklock import cage
from metanode.errors import BenchError
from metanode.executor import constants
from metanode.mempool import constants as mempool_constants
from metanode.types import Address, Transaction
from metanode.types.messages import BASE_UNITS_PER_COIN

CALLS = 200  # well under a minute on the shared 2-core VM, network start included
REPLICAS = 2
POLL_S = 0.05
IDLE_S = 3.0
TIMEOUT_S = 600.0
# The wait for the LogBlocks grows with the calls: on the loaded VM a 5,000-call run had 1,536
# notarised after 600 s (about 2.5 calls/s).
TIMEOUT_PER_CALL_S = 0.5
# Calls per fresh account, under the nonce gap so that all of them wait in the pool at once.
CALLS_PER_ACCOUNT = 50
# Per fresh account: its calls' fees (1,000 base units) and escrow (fuel limit 100,000 at a
# fuel price of 2) many times over.
FUNDING = BASE_UNITS_PER_COIN

assert mempool_constants.nonce_gap_max >= CALLS_PER_ACCOUNT


def fresh_accounts(count: int) -> list[ed25519.PrivateKey]:
    """`count` keys for the calls' senders, derived from their index (the same every run)."""
    return [
        ed25519.PrivateKey.from_seed(hashlib.sha256(f"bench/apps {index}".encode()).digest())
        for index in range(math.ceil(count / CALLS_PER_ACCOUNT))
    ]


def funding(
    funders: list[ed25519.PrivateKey], accounts: list[ed25519.PrivateKey], cluster: Cluster
) -> list[Transaction]:
    """One transfer of FUNDING to each account, in turn from each funder (nonces from 0)."""
    if math.ceil(len(accounts) / len(funders)) > mempool_constants.nonce_gap_max:
        raise BenchError(f"{len(accounts)} accounts are more than the dev accounts can fund")
    return [
        cluster.transfer(
            funders[index % len(funders)],
            index // len(funders),
            Address.from_public_key(account.public_key),
            FUNDING,
        )
        for index, account in enumerate(accounts)
    ]


def fund(cluster: Cluster, accounts: list[ed25519.PrivateKey]) -> None:
    """Fund the accounts from every dev account but dev0 (it deploys) and wait until the
    transfers are on chain."""
    txs = funding(cluster.dev_keys()[1:], accounts, cluster)
    results = cluster.submit("v0", txs)
    refused = [result for result in results if not result["accepted"]]
    if refused:
        raise BenchError(f"{len(refused)} funding transfers refused, first: {refused[0]}")
    waiting = [tx.hash().hex() for tx in txs]
    deadline = time.monotonic() + TIMEOUT_S
    while waiting:
        if time.monotonic() > deadline:
            raise BenchError(f"{len(waiting)} funding transfers not on chain in {TIMEOUT_S} s")
        waiting = [tx_hash for tx_hash in waiting if not cluster.committed("v0", tx_hash)]
        time.sleep(POLL_S)


def read(cluster: Cluster, name: str, path: str) -> dict[str, Any]:
    """A gateway's answer, or nothing if it timed out: a node busy with thousands of calls
    on the shared VM may answer a poll late, and the next poll asks again."""
    try:
        return cluster.get(name, path)
    except httpx.TimeoutException:
        return {}


class ReceiptPoll:
    """When each call's first receipt was served, and where each gateway's next page starts.

    A gateway serves the receipts its node signed for the app in seq order, and its executor
    commits them in seq order, so it is asked only from after the last one it served: asked
    from the lowest call not seen anywhere, each of the four gateways encoded up to a page of
    500 receipts already seen at every poll, ~50 ms of its event loop each (a 1,000-call run),
    and one poll of the four one after the other took ~250 ms, late by that much."""

    def __init__(self, names: list[str], app: str) -> None:
        self.app = app
        self.seen: dict[int, float] = {}
        self.next = dict.fromkeys(names, 0)

    def path(self, name: str) -> str:
        page = constants.receipts_page_max
        return f"/api/v1/apps/{self.app}/receipts?from={self.next[name]}&limit={page}"

    def take(self, name: str, answered: float, page: dict[str, Any]) -> None:
        for receipt in page.get("receipts", []):
            self.seen.setdefault(receipt["seq"], answered)
            self.next[name] = max(self.next[name], receipt["seq"] + 1)


def answered(cluster: Cluster, name: str, path: str) -> tuple[float, dict[str, Any]]:
    """A gateway's answer, with when it came (monotonic seconds)."""
    page = read(cluster, name, path)
    return time.monotonic(), page


def watch(
    cluster: Cluster, app: str, count: int, until: float
) -> tuple[dict[int, float], dict[int, float]]:
    """When each call's first receipt and its LogBlock were first seen (monotonic seconds),
    until every call's LogBlock was or the time `until` has passed: the gateways are polled at
    once, each poll every POLL_S after the last one answered."""
    receipts = ReceiptPoll(cluster.names, app)
    logblock_seen: dict[int, float] = {}
    logblocks, covered = 0, -1  # LogBlocks seen, and the last call they cover
    with ThreadPoolExecutor(len(cluster.names) + 1) as pollers:
        while len(logblock_seen) < count and time.monotonic() < until:
            asked = [] if len(receipts.seen) == count else cluster.names
            pages = [
                (name, pollers.submit(answered, cluster, name, receipts.path(name)))
                for name in asked
            ]
            # Only the LogBlocks not seen yet: from 0 each poll, v0 decoded every LogBlock of
            # the run (512 leaves each) on its event loop 20 times a second, 4% of the four
            # nodes' CPU in a 2,000-call run, and its own consensus waited on it.
            path = f"/api/v1/logblocks?app={app}&start={logblocks}&limit=100"
            found_at, found = answered(cluster, "v0", path)
            for name, page in pages:
                receipts.take(name, *page.result())
            blocks = found.get("logblocks", [])
            logblocks += len(blocks)
            covered = max([block["last_seq"] for block in blocks] + [covered])
            for seq in range(min(covered + 1, count)):
                logblock_seen.setdefault(seq, found_at)
            time.sleep(POLL_S)
    return receipts.seen, logblock_seen


# A full pool (`pool_full`), or one whose transactions behind a missing nonce fill half of it
# (`queue_full`: a block drained the pool inside a batch, so a later nonce got in before an
# earlier one refused); half the pool always takes the earlier nonce, so retries converge.
RETRIED = ("pool_full", "queue_full")


def gateways_by_sender(cluster: Cluster, txs: list[Transaction]) -> dict[bytes, str]:
    """The one gateway each sender's calls go through, the senders spread over all of them."""
    senders = sorted({tx.sender for tx in txs})
    return {
        sender: cluster.names[index % len(cluster.names)] for index, sender in enumerate(senders)
    }


def refused(cluster: Cluster, name: str, batch: list[Transaction]) -> list[Transaction]:
    """Submit a batch through one gateway: the calls to submit again (refused for a full pool),
    in their order; any other refusal ends the run."""
    if not batch:
        return []
    again = []
    for tx, result in zip(batch, cluster.submit(name, batch), strict=True):
        if result["accepted"]:
            continue
        if result["reason"] not in RETRIED:
            raise BenchError(f"a call refused: {result}")
        again.append(tx)
    return again


def submit_all(cluster: Cluster, txs: list[Transaction]) -> None:
    """Submit each sender's calls through one gateway, the senders spread over all of them and
    the gateways sent to at once, as four clients would: one after the other, a batch reached
    the last gateway's pool a second or two after the first's (a request of 250 calls is
    admitted in 0.3-0.6 s on the loaded machine), so it spread over 3-5 heights. A node holds
    at most its share of the pool for its own clients (1/4 here), and what it refuses for a
    full pool is submitted again, in nonce order, as the pools drain."""
    gateway = gateways_by_sender(cluster, txs)
    deadline = time.monotonic() + TIMEOUT_S
    with ThreadPoolExecutor(len(cluster.names)) as clients:
        while txs:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"{len(txs)} calls still refused for a full pool after {TIMEOUT_S} s"
                )
            batches = [
                (name, [tx for tx in txs if gateway[tx.sender] == name]) for name in cluster.names
            ]
            txs = [
                tx
                for again in clients.map(lambda batch: refused(cluster, *batch), batches)
                for tx in again
            ]
            if txs:
                time.sleep(POLL_S)


class Gateway:
    """One gateway's client in rate mode: it submits what the pacer hands it as soon as it can
    (all that was handed while its last request was out, in one request), and what its pool
    refused for being full again first, so that each sender's nonces stay in order."""

    def __init__(self, cluster: Cluster, name: str, stop_at: float) -> None:
        self.cluster = cluster
        self.name = name
        self.stop_at = stop_at  # past it, calls still refused are given up
        self.handed: queue.SimpleQueue[list[Transaction] | None] = queue.SimpleQueue()

    def take(self) -> tuple[list[Transaction], bool]:
        """What was handed since the last request (waiting up to POLL_S for something), and
        whether the load has ended (None handed)."""
        try:
            items = [self.handed.get(timeout=POLL_S)]
        except queue.Empty:
            return [], False
        while not self.handed.empty():
            items.append(self.handed.get_nowait())
        return [tx for item in items if item is not None for tx in item], None in items

    def run(self) -> int:
        """Submit until the load has ended and every call was accepted, or until `stop_at`:
        the calls never accepted."""
        waiting: list[Transaction] = []
        ended = False
        while (waiting or not ended) and time.monotonic() < self.stop_at:
            handed, last = self.take()
            ended = ended or last
            waiting = refused(self.cluster, self.name, waiting + handed)
        return len(waiting)


SLICES_PER_S = 10  # the load is offered a slice every 100 ms
WARMUP_FRACTION = 0.2  # as `metanode bench`: the load's first fifth is outside the window
DURATION_S = 10
# After the load, how long calls still pending are waited for; past it the figures are of
# what landed.
DRAIN_S = 60.0


def slices(txs: list[Transaction], rate: int, duration: int) -> list[list[Transaction]]:
    """The calls due in each slice of the load, `rate` a second: slice k ends before call
    rate·(k+1)/SLICES_PER_S (rounded down)."""
    return [
        txs[rate * k // SLICES_PER_S : rate * (k + 1) // SLICES_PER_S]
        for k in range(duration * SLICES_PER_S)
    ]


class Mark(NamedTuple):
    """A window's edge: when (monotonic seconds), the nodes' CPU and this process's then."""

    at: float
    nodes_cpu: float
    client_cpu: float


def mark(cluster: Cluster) -> Mark:
    return Mark(time.monotonic(), nodes_cpu_seconds(cluster), time.process_time())


def pace(
    cluster: Cluster,
    gateways: dict[str, Gateway],
    due: list[list[Transaction]],
    start: float,
) -> tuple[list[float], Mark, Mark]:
    """Hand each slice's calls to their senders' gateways at its time: when each slice was
    handed, and the window's edges (after the warm-up, at the load's end)."""
    route = gateways_by_sender(cluster, [tx for calls_due in due for tx in calls_due])
    warm_up = round(len(due) * WARMUP_FRACTION)
    handed_at: list[float] = []
    edges: list[Mark] = []
    for index, calls_due in enumerate(due):
        time.sleep(max(0.0, start + index / SLICES_PER_S - time.monotonic()))
        if index == warm_up:
            edges.append(mark(cluster))
        handed_at.append(time.monotonic())
        for name, gateway in gateways.items():
            gateway.handed.put([tx for tx in calls_due if route[tx.sender] == name])
    time.sleep(max(0.0, start + len(due) / SLICES_PER_S - time.monotonic()))
    edges.append(mark(cluster))
    for gateway in gateways.values():
        gateway.handed.put(None)
    return handed_at, edges[0], edges[1]


def cpu_seconds(pid: int) -> float:
    """A process's user and system CPU seconds so far (/proc/PID/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def nodes_cpu_seconds(cluster: Cluster) -> float:
    return sum(cpu_seconds(process.pid) for process in cluster.processes.values())


class Figures(NamedTuple):
    calls_per_s: float
    call_to_receipt_p50_ms: float
    call_to_logblock_p50_ms: float
    nodes_cpu_s: float
    nodes_cpu_ms_per_call: float
    client_cpu_s: float
    catch_up_calls: int
    unchecked_receipts: int

    def line(self) -> str:
        return (
            f"calls_per_s={self.calls_per_s:.1f} "
            f"call_to_receipt_p50_ms={self.call_to_receipt_p50_ms:.0f} "
            f"call_to_logblock_p50_ms={self.call_to_logblock_p50_ms:.0f} "
            f"nodes_cpu_s={self.nodes_cpu_s:.1f} "
            f"nodes_cpu_ms_per_call={self.nodes_cpu_ms_per_call:.2f} "
            f"client_cpu_s={self.client_cpu_s:.1f} "
            f"catch_up_calls={self.catch_up_calls} "
            f"unchecked_receipts={self.unchecked_receipts}"
        )


class RateFigures(NamedTuple):
    """A rate run's figures, and how many of its calls were seen: all of them, in a run the
    network kept up with."""

    figures: Figures
    offered_per_s: int
    calls: int
    receipts_seen: int
    logblocks_seen: int
    window_calls: int  # offered in the window
    window_calls_landed: int  # of those, with their LogBlock seen
    never_accepted: int  # refused for a full pool until the drain's end

    def line(self) -> str:
        return f"{self.figures.line()} offered_per_s={self.offered_per_s} mode=rate"


def logged(logs: str, message: str, field: str) -> int:
    """The sum of `field` over the nodes' log lines of `message` (JSON lines)."""
    total = 0
    for line in logs.splitlines():
        if f'"{message}"' in line:
            total += json.loads(line).get(field, 0)
    return total


def catch_up_and_unchecked(cluster: Cluster) -> tuple[int, int]:
    logs = "\n".join(cluster.log(name) for name in cluster.names)
    return (
        logged(logs, "executing calls", "catching_up"),
        logged(logs, "peer receipts held already", "unchecked"),
    )


@contextlib.contextmanager
def deployed(
    count: int, epoch_blocks: int | None
) -> Iterator[tuple[Cluster, bytes, list[Transaction]]]:
    """A running network with the counter app deployed and `count` calls to it signed, from
    fresh accounts funded on chain."""
    with (
        tempfile.TemporaryDirectory() as directory,
        running(Path(directory) / "net", epoch_blocks=epoch_blocks) as cluster,
    ):
        cluster.wait_height(1, timeout_s=180)  # four processes importing on a busy VM
        senders = fresh_accounts(count)
        fund(cluster, senders)
        module = Path(directory) / "counter.wat"
        module.write_text(COUNTER.read_text())
        (Path(directory) / "app.toml").write_text(
            f"[app]\nreplicas = {REPLICAS}\nfuel_limit = 100000\n"
        )
        bpi(cluster, "deploy", str(module), "--fuel-price", "0.000000002")
        app_id = cage.app_id(cage.wat_to_wasm(COUNTER.read_text()))
        yield cluster, app_id, calls(cluster, app_id, count, senders=senders)


def idle_cpu_rate(cluster: Cluster) -> float:
    """The nodes' CPU seconds a second with no calls, over IDLE_S."""
    idle_from, idle_cpu = time.monotonic(), nodes_cpu_seconds(cluster)
    time.sleep(IDLE_S)
    return (nodes_cpu_seconds(cluster) - idle_cpu) / (time.monotonic() - idle_from)


def run(count: int, epoch_blocks: int | None = None) -> Figures:
    with deployed(count, epoch_blocks) as (cluster, app_id, txs):
        idle_rate = idle_cpu_rate(cluster)
        submitted = time.monotonic()
        nodes_cpu, client_cpu = nodes_cpu_seconds(cluster), time.process_time()
        submit_all(cluster, txs)
        wait_s = TIMEOUT_S + count * TIMEOUT_PER_CALL_S
        receipt_seen, logblock_seen = watch(cluster, app_id.hex(), count, time.monotonic() + wait_s)
        if len(logblock_seen) < count:
            raise BenchError(f"{len(logblock_seen)} of {count} calls notarised in {wait_s} s")
        took = max(logblock_seen.values()) - submitted
        nodes_cpu = nodes_cpu_seconds(cluster) - nodes_cpu
        per_call_ms = (nodes_cpu - idle_rate * (time.monotonic() - submitted)) / count * 1000
        client_cpu = time.process_time() - client_cpu
        to_receipt = statistics.median(seen - submitted for seen in receipt_seen.values())
        to_logblock = statistics.median(seen - submitted for seen in logblock_seen.values())
        return Figures(
            count / took,
            to_receipt * 1000,
            to_logblock * 1000,
            nodes_cpu,
            per_call_ms,
            client_cpu,
            *catch_up_and_unchecked(cluster),
        )


def call_hashes(cluster: Cluster, app: str) -> dict[int, str]:
    """Each call's transaction hash by its seq, as the chain ordered them (read after the run:
    the receipts and LogBlocks name calls by seq, the client knows them by hash)."""
    found: dict[int, str] = {}
    start: int | None = constants.first_seq
    while start is not None:
        page = cluster.get("v0", f"/api/v1/apps/{app}/calls?from={start}&limit=1000")
        found.update((call["seq"], call["tx_hash"]) for call in page["calls"])
        start = page["next"]
    return found


def run_rate(rate: int, duration: int, epoch_blocks: int | None = None) -> RateFigures:
    """`rate` calls a second for `duration` seconds, in slices every 1/SLICES_PER_S s, each
    call timed from the moment its slice was handed to the gateways' clients."""
    count = rate * duration
    with deployed(count, epoch_blocks) as (cluster, app_id, txs):
        index_of = {tx.hash().hex(): index for index, tx in enumerate(txs)}
        due = slices(txs, rate, duration)
        idle_rate = idle_cpu_rate(cluster)
        start = time.monotonic()
        stop_at = start + duration + DRAIN_S
        gateways = {name: Gateway(cluster, name, stop_at) for name in cluster.names}
        with ThreadPoolExecutor(len(gateways) + 1) as load:
            clients = [load.submit(gateway.run) for gateway in gateways.values()]
            pacer = load.submit(pace, cluster, gateways, due, start)
            receipt_seen, logblock_seen = watch(cluster, app_id.hex(), count, stop_at)
            watched = time.monotonic()
            handed_at, window_start, window_end = pacer.result()
            never_accepted = sum(client.result() for client in clients)
        offered_at = [at for at, calls_due in zip(handed_at, due, strict=True) for _ in calls_due]
        by_index = {
            index_of[tx_hash]: seq for seq, tx_hash in call_hashes(cluster, app_id.hex()).items()
        }
        landed = [at for at in logblock_seen.values() if window_start.at <= at < window_end.at]
        window_s = window_end.at - window_start.at
        if not landed:
            raise BenchError(
                f"no call's LogBlock landed in the window ({len(logblock_seen)} of {count} calls "
                f"notarised by {watched - start:.0f} s after the load's start)"
            )
        in_window = [index for index, at in enumerate(offered_at) if at >= window_start.at]

        def p50_ms(seen: dict[int, float]) -> float:
            """Over the calls offered in the window; one not seen by the watch's end counts
            with the time to it, a lower bound."""
            late = [seen.get(by_index.get(index, -1), watched) for index in in_window]
            return (
                statistics.median(
                    at - offered_at[index] for at, index in zip(late, in_window, strict=True)
                )
                * 1000
            )

        nodes_cpu = window_end.nodes_cpu - window_start.nodes_cpu
        figures = Figures(
            len(landed) / window_s,
            p50_ms(receipt_seen),
            p50_ms(logblock_seen),
            nodes_cpu,
            (nodes_cpu - idle_rate * window_s) / len(landed) * 1000,
            window_end.client_cpu - window_start.client_cpu,
            *catch_up_and_unchecked(cluster),
        )
        window_landed = sum(1 for index in in_window if by_index.get(index) in logblock_seen)
        return RateFigures(
            figures,
            rate,
            count,
            len(receipt_seen),
            len(logblock_seen),
            len(in_window),
            window_landed,
            never_accepted,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=None, help=f"calls (default {CALLS})")
    parser.add_argument(
        "--rate", type=int, default=None, help="calls a second offered (default: one batch)"
    )
    parser.add_argument(
        "--duration",
        type=int,
        default=DURATION_S,
        help=f"seconds of load at --rate (default {DURATION_S})",
    )
    parser.add_argument(
        "--epoch-blocks", type=int, default=None, help="staking.epoch_blocks (default: genesis)"
    )
    arguments = parser.parse_args()
    epochs = (
        "" if arguments.epoch_blocks is None else f", epochs of {arguments.epoch_blocks} blocks"
    )
    if arguments.rate is not None:
        if arguments.calls is not None:
            parser.error("--calls is for one batch; at --rate the calls are rate × duration")
        if arguments.rate < 1 or arguments.duration < 1:
            parser.error("--rate and --duration must be at least 1")
        rated = run_rate(arguments.rate, arguments.duration, arguments.epoch_blocks)
        print(
            f"4 validators, counter.wat, {REPLICAS} replicas, {arguments.rate} calls/s for "
            f"{arguments.duration} s{epochs}: {rated.receipts_seen} receipts and "
            f"{rated.logblocks_seen} LogBlocks seen of {rated.calls} calls, "
            f"{rated.window_calls_landed} of the window's {rated.window_calls} notarised, "
            f"{rated.never_accepted} never accepted"
        )
        print(rated.line())
        return
    count = CALLS if arguments.calls is None else arguments.calls
    figures = run(count, arguments.epoch_blocks)
    print(f"4 validators, counter.wat, {REPLICAS} replicas, {count} calls in one batch{epochs}")
    print(figures.line())


if __name__ == "__main__":
    main()
