"""A load process of `metanode bench`: pre-signs transfers, then submits them in batches.

Run as `python -m metanode.cli.load SPEC.json`. The spec names the account seeds (derived
from a bench seed and an index range, so no secret crosses a process boundary), the gateways,
how many transfers per account, the rate and the batch size. Everything is signed first, then
the process writes SPEC.ready and waits for SPEC.start, the start time the bench gives once every
load process is ready (how long signing takes depends on how loaded the machine is, so no
start time fixed in advance can be trusted to come after it); from then on it only sends. It
writes what it sent (each batch's send time and transaction hashes) and the gateways' verdicts
to SPEC.out.json.

Wall-clock times here are measurements at the client, which is what the benchmark reports.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from metanode.codec import encode
from metanode.crypto import ed25519
from metanode.net import http
from metanode.types import Address, Denom, Transaction, Transfer

CBOR = {"content-type": "application/cbor"}


def account_seed(bench_seed: bytes, index: int) -> bytes:
    return hashlib.sha256(bench_seed + index.to_bytes(8, "big")).digest()


def account_address(bench_seed: bytes, index: int) -> Address:
    return Address.from_public_key(ed25519.PrivateKey(account_seed(bench_seed, index)).public_key)


Item = tuple[bytes, bytes, int]  # encoded transaction, its hash, its account's index


def presign(spec: dict[str, Any]) -> list[list[Item]]:
    """(encoded tx, hash, account) for each gateway, round-robin over accounts so that nonces stay
    contiguous. An account always goes to the same gateway (account index mod the number of
    gateways), as a wallet talks to its one node: its nonces then arrive in order instead of
    racing each other through different gateways and the gossip between them."""
    seed = bytes.fromhex(spec["bench_seed"])
    first, last = spec["accounts"]
    total_accounts = spec["total_accounts"]
    gateways = len(spec["gateways"])
    keys = [ed25519.PrivateKey(account_seed(seed, index)) for index in range(first, last)]
    recipients = [
        account_address(seed, (index + 1) % total_accounts) for index in range(first, last)
    ]
    routes: list[list[Item]] = [[] for _ in range(gateways)]
    for nonce in range(spec["per_account"]):
        for index, (key, recipient) in enumerate(zip(keys, recipients, strict=True)):
            unsigned = Transaction(
                spec["chain_id"],
                key.public_key,
                nonce,
                spec["fee"],
                spec["expiry_height"],
                Transfer(recipient, 1, Denom.FLX),
            )
            tx = unsigned.with_signature(key.sign(unsigned.signing_message()))
            account = first + index
            routes[account % gateways].append((tx.encode(), tx.hash(), account))
    return routes


RETRYABLE = {"pool_full", "queue_full", "nonce_gap_too_large", "rate_limited", "gateway_error"}
retry_pause_s = 0.1
retry_pause_max_s = 2.0


async def _send(spec: dict[str, Any], routes: list[list[Item]]) -> dict[str, Any]:
    """Send batches with up to `in_flight` requests outstanding, paced to `rate` if given; each
    gateway's transactions go to that gateway only, the gateways taken in turn.

    Backpressure reaches the client here: transactions refused because the network is full
    (`pool_full`, `queue_full`, or a gap behind one of those) go back to the front of the queue
    and are sent again after a short pause, as a real client would; a transaction counts from
    the submission that was accepted. While one of an account's transactions waits to be sent
    again, the account's later ones are held back (as a wallet does not sign past a nonce the
    node refused), so they do not sit in a pool behind a gap. A gateway at its commit-rate
    bound refuses a batch with 429 (or the rest of it `rate_limited`) and says when to come
    back (`Retry-After`): the retry waits at least that long."""
    start, duration = spec["start_time"], spec["duration_s"]
    rate = spec["rate"]  # transactions per second for this process, or 0: as fast as taken
    batch_size = spec["batch"]
    gateways = spec["gateways"]
    sent: list[tuple[float, list[str]]] = []
    verdicts: dict[str, int] = {}
    # Each queued batch carries how often it was refused: its retry waits double each time.
    queues = [
        collections.deque((0, txs[i : i + batch_size]) for i in range(0, len(txs), batch_size))
        for txs in routes
    ]
    retrying: set[bytes] = set()  # hashes refused and queued again
    held: dict[int, list[Item]] = {}  # account → its later transactions, in nonce order
    offered = 0
    first_sends = 0
    in_flight = 0

    def hold_back(batch: list[Item]) -> list[Item]:
        ready = []
        for item in batch:
            line = held.get(item[2])
            if line is None or item[1] in retrying:
                ready.append(item)
            else:
                line.append(item)
        return ready

    def release(account: int, queue: collections.deque[tuple[int, list[Item]]]) -> None:
        line = held.pop(account, [])
        if line:
            queue.appendleft((0, line))

    async def worker(client: httpx.AsyncClient, number: int) -> None:
        nonlocal offered, first_sends, in_flight
        request = number
        while time.time() < start + duration:
            if not any(queues):
                if not held and not in_flight:
                    return
                await asyncio.sleep(0.01)  # what is left waits on a request in flight
                continue
            while not queues[request % len(gateways)]:
                request += 1
            gateway = request % len(gateways)
            queue = queues[gateway]
            attempts, batch = queue.popleft()
            batch = hold_back(batch)
            if not batch:
                continue
            due = start + first_sends / rate if rate else 0.0
            first_sends += len(batch)  # this batch's slot is taken before waiting for it
            if due > time.time():
                await asyncio.sleep(due - time.time())
            sent_at = time.time()
            in_flight += 1
            retry_after_s = 0.0
            refused = "gateway_error"
            try:
                answer = await client.post(
                    f"{gateways[gateway]}/api/v1/txs/batch",
                    content=encode([raw for raw, _, _ in batch]),
                    headers=CBOR,
                )
                retry_after_s = float(answer.headers.get("retry-after", 0))
                if answer.status_code == 429:
                    refused = "rate_limited"
                results = answer.json()["results"] if answer.status_code == 200 else []
            except (httpx.HTTPError, ValueError, KeyError):
                results = []
            finally:
                in_flight -= 1
            request += spec["in_flight"]
            accepted, again = [], []
            if not results:
                results = [{"accepted": False, "reason": refused}] * len(batch)
            for item, result in zip(batch, results, strict=False):
                reason = "accepted" if result["accepted"] else result["reason"]
                verdicts[reason] = verdicts.get(reason, 0) + 1
                if reason in RETRYABLE:
                    again.append(item)
                    retrying.add(item[1])
                    held.setdefault(item[2], [])
                    continue
                if result["accepted"]:
                    accepted.append(item[1].hex())
                if item[1] in retrying:  # the transaction the account waited on is settled
                    retrying.discard(item[1])
                    release(item[2], queue)
            sent.append((sent_at, accepted))
            offered += len(batch)
            if again:
                queue.appendleft((attempts + 1, again))
                backoff = min(retry_pause_max_s, retry_pause_s * 2**attempts)
                await asyncio.sleep(max(backoff, retry_after_s))

    # A source address of its own (`metanode bench --attack`, `--record-trace`) makes this
    # process one client of the gateways' guards, apart from the bench and the other loads.
    async with http.async_client(60, local_address=spec.get("source")) as client:
        await asyncio.gather(*(worker(client, n) for n in range(spec["in_flight"])))
    return {"sent": sent, "verdicts": verdicts, "offered": offered}


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    routes = presign(spec)
    Path(spec_path + ".ready").write_text(str(sum(map(len, routes))))
    start_path = Path(spec_path + ".start")
    while not start_path.exists():
        time.sleep(0.01)
    spec["start_time"] = float(start_path.read_text())
    while time.time() < spec["start_time"]:
        time.sleep(0.001)
    result = asyncio.run(_send(spec, routes))
    Path(spec_path + ".out.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
