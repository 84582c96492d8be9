"""A load at a chosen share of what the network commits, measured at the start of the same run
(docs/testnet.md, `--pace`): the soak's "half of measured capacity".

`measure_capacity` sends waves of transfers (each dev account's next `nonce_gap_max` nonces,
so the mempool queues none) as fast as the gateways take them, waits for each wave to commit,
and divides what committed by the time it took. `PacedLoad` then offers transfers at a fixed
rate in ticks, each account to one gateway and at most WINDOW transfers past its committed
nonce, keeping each account's next nonce itself (one client cannot wait out each transaction
at hundreds a second); what the windows hold back is counted (`held`), never sent later in a
burst. After a refusal, a transfer queued behind a nonce gap or a batch whose fate is unknown
it sends nothing until the committed nonces stop moving, and goes on from them. One transaction
a tick, sent a while before, is asked whether it committed: those the gateway answers
committed are `acknowledged`, which the checks look for in every chain.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import time
from dataclasses import dataclass

import httpx

from metanode.crypto import ed25519
from metanode.mempool import constants as mempool_constants
from metanode.node import home as dev_home
from metanode.testnet.run import TRANSFER_FEE, Load, Network, TestnetError
from metanode.types import Address, Denom, Transaction, Transfer

log = logging.getLogger("metanode.testnet")
TICK_S = 0.5
ASK_AFTER_S = 5.0  # a transaction is asked about this long after it was sent
WAVE_TIMEOUT_S = 120.0
SETTLE_POLL_S = 3.0  # longer than a block: unchanged twice running means nothing came
EXPIRY_BLOCKS = 10**9  # the load's transactions never expire: a stall must not drop them
# Transfers an account may have past its committed nonce: half the pool's nonce_gap_max, so a
# committed nonce read a poll late still leaves room.
WINDOW = mempool_constants.nonce_gap_max // 2
NONCES_POLL_S = 2.0
# Accounts of a paced network: each holds WINDOW transfers in flight, so 64 of them carry
# 64 · 32 = 2,048 transfers per block time; the dev default of 10 capped the load at 640 a
# block, below half of what an idle 2-core machine commits.
PACED_ACCOUNTS = 64
# The capacity waves use this many of them (each account's next nonce_gap_max nonces a wave),
# as the figures before the paced accounts did.
CAPACITY_ACCOUNTS = 10


@dataclass(frozen=True, slots=True)
class Capacity:
    committed: int
    seconds: float

    @property
    def tps(self) -> float:
        return self.committed / self.seconds


def transfer(key: ed25519.PrivateKey, nonce: int, to: ed25519.PrivateKey) -> Transaction:
    unsigned = Transaction(
        dev_home.DEV_CHAIN_ID,
        key.public_key,
        nonce,
        TRANSFER_FEE,
        EXPIRY_BLOCKS,
        Transfer(Address.from_public_key(to.public_key), 1, Denom.FLX),
    )
    return unsigned.with_signature(key.sign(unsigned.signing_message()))


def committed_nonce(client: httpx.Client, gateway: str, key: ed25519.PrivateKey) -> int:
    sender = Address.from_public_key(key.public_key)
    return int(client.get(f"{gateway}/api/v1/accounts/{sender}").json()["nonce"])


def measure_capacity(network: Network, keys: list[ed25519.PrivateKey], seconds: float) -> Capacity:
    """Waves of transfers until `seconds` have passed (at least one wave), each committed
    before the next is sent; what committed over the time it took."""
    client = network.client
    gateway = network.url(0)
    nonces = [committed_nonce(client, gateway, key) for key in keys]
    committed, started, wave = 0, time.monotonic(), 0
    while wave == 0 or time.monotonic() - started < seconds:
        txs = [
            transfer(key, nonces[index] + offset, keys[(index + 1) % len(keys)])
            for index, key in enumerate(keys)
            for offset in range(mempool_constants.nonce_gap_max)
        ]
        target = network.url(wave % network.fabric.hosts)
        answer = client.post(
            f"{target}/api/v1/txs/batch",
            json={"txs": [tx.encode().hex() for tx in txs]},
            timeout=60,
        )
        answer.raise_for_status()
        refused = [item for item in answer.json()["results"] if not item["accepted"]]
        if refused:
            raise TestnetError(f"a capacity wave was refused: {refused[0]}")
        nonces = [nonce + mempool_constants.nonce_gap_max for nonce in nonces]
        if network.wait(functools.partial(_landed, client, target, keys, nonces),
                        WAVE_TIMEOUT_S) is None:  # fmt: skip
            raise TestnetError(f"a wave of {len(txs)} transfers did not commit in "
                               f"{WAVE_TIMEOUT_S:.0f} s")  # fmt: skip
        committed += len(txs)
        wave += 1
    capacity = Capacity(committed, time.monotonic() - started)
    log.info("capacity", extra={"committed": committed, "tps": round(capacity.tps, 1)})
    return capacity


def _landed(
    client: httpx.Client, gateway: str, keys: list[ed25519.PrivateKey], nonces: list[int]
) -> bool:
    return all(committed_nonce(client, gateway, key) >= nonce
               for key, nonce in zip(keys, nonces, strict=True))  # fmt: skip


def within_windows(owed: int, turn: int, nonces: list[int], committed: list[int]) -> list[int]:
    """Up to `owed` senders (indexes), in turn from `turn`, each within its window of WINDOW
    transfers past its last committed nonce: the pool refuses a sender further ahead
    (nonce_gap_max), and the gateways' guard bans a client it keeps refusing."""
    accounts = len(nonces)
    room = [WINDOW - (nonces[i] - committed[i]) for i in range(accounts)]
    order = [(turn + offset) % accounts for offset in range(accounts)]
    senders: list[int] = []
    while len(senders) < owed and any(room[i] > 0 for i in order):
        for sender in order:
            if room[sender] > 0 and len(senders) < owed:
                senders.append(sender)
                room[sender] -= 1
    return senders


class PacedLoad(Load):
    """Transfers offered at `rate` a second, as far as the network commits them."""

    def __init__(self, network: Network, rate: float) -> None:
        super().__init__(network)
        if rate <= 0:
            raise TestnetError(f"a paced load needs a positive rate, not {rate}")
        self.rate = rate
        self.offered = 0
        self.admitted = 0  # ready for a block (not queued behind a nonce gap)
        self.refused = 0
        self.settles = 0  # pauses until the committed nonces stopped moving
        self.held = 0  # owed by the pace but held back: every account's window was full

    def _gateway(self, sender: int) -> str:
        """Each account sends to one gateway: its transfers reach that pool in nonce order,
        where round-robin raced gossip and met nonce gaps on the other pools."""
        return self.network.url(sender % self.network.fabric.hosts)

    def _run(self) -> None:
        nonces = self._settle(self.network.url(0), None)
        committed = list(nonces)
        asked: collections.deque[tuple[float, str, str]] = collections.deque()
        started, base, turn, polled = time.monotonic(), 0, 0, time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - polled >= NONCES_POLL_S:
                with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                    committed = self._committed()
                polled = time.monotonic()
            owed = int(self.rate * (time.monotonic() - started)) - (self.offered - base)
            senders = within_windows(owed, turn, nonces, committed) if owed > 0 else []
            if len(senders) < owed:  # the network is behind the pace: no burst later
                self.held += owed - len(senders)
                started, base = time.monotonic(), self.offered + len(senders)
            if senders:
                self.offered += len(senders)
                try:
                    clean = self._tick(nonces, senders, asked)
                except (httpx.HTTPError, ValueError, KeyError):
                    clean = False  # whether the gateway took the batch is unknown
                if not clean:
                    nonces = self._settle(self.network.url(0), nonces)
                    committed = list(nonces)
                    # The pace starts again from here: no burst of what was not sent.
                    started, base = time.monotonic(), self.offered
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                self._ask(asked)
            turn += 1
            self._stop.wait(TICK_S)

    def _committed(self) -> list[int]:
        return [
            committed_nonce(self.client, self._gateway(index), key)
            for index, key in enumerate(self.keys)
        ]

    def _tick(
        self,
        nonces: list[int],
        senders: list[int],
        asked: collections.deque[tuple[float, str, str]],
    ) -> bool:
        """One batch to each gateway with senders; whether every transfer is ready for a
        block."""
        batches: dict[str, list[Transaction]] = collections.defaultdict(list)
        for sender in senders:
            to = self.keys[(sender + 1) % len(self.keys)]
            batches[self._gateway(sender)].append(transfer(self.keys[sender], nonces[sender], to))
            nonces[sender] += 1
        clean = True
        for gateway, txs in sorted(batches.items()):
            answer = self.client.post(
                f"{gateway}/api/v1/txs/batch", json={"txs": [tx.encode().hex() for tx in txs]}
            )
            answer.raise_for_status()
            results = answer.json()["results"]
            ready = [r["hash"] for r in results if r["accepted"] and not r["queued"]]
            self.admitted += len(ready)
            self.refused += sum(not r["accepted"] for r in results)
            if ready:
                asked.append((time.monotonic(), gateway, ready[-1]))
            clean = clean and len(ready) == len(results)
        return clean

    def _settle(self, gateway: str, nonces: list[int] | None) -> list[int]:
        """The accounts' nonces to go on from, after a refusal, a queued transfer or a batch
        whose fate is unknown: nothing is sent until every account's committed nonce stops
        moving (what the pool will commit of ours is in, a gateway's ban has passed), and
        those are the nonces. Sending on instead (or going back while the pool still held
        transfers) was refused as a nonce gap or a nonce too low, which the gateways' guard
        answers with a ban that doubles each time."""
        self.settles += nonces is not None
        seen = None
        while not self._stop.is_set():
            try:
                now = [committed_nonce(self.client, gateway, key) for key in self.keys]
            except (httpx.HTTPError, ValueError, KeyError):
                now = None
            if now is not None and now == seen:
                return now
            seen = now or seen
            self._stop.wait(SETTLE_POLL_S)
        return seen or nonces or [0] * len(self.keys)

    def _ask(self, asked: collections.deque[tuple[float, str, str]]) -> None:
        if not asked or time.monotonic() - asked[0][0] < ASK_AFTER_S:
            return
        _, gateway, tx_hash = asked.popleft()
        view = self.client.get(f"{gateway}/api/v1/txs/{tx_hash}")
        if view.status_code == 200 and view.json()["committed"]:
            self.acknowledged[tx_hash] = int(view.json()["height"])
