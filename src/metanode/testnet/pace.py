"""A load at a chosen share of what the network commits, measured at the start of the same run
(docs/testnet.md, `--pace`): the soak's "half of measured capacity".

`measure_capacity` sends waves of transfers (each dev account's next `nonce_gap_max` nonces,
so the mempool queues none) as fast as the gateways take them, waits for each wave to commit,
and divides what committed by the time it took. `PacedLoad` then offers transfers at a fixed
rate in ticks, each tick's share one batch to the next gateway in turn, keeping each account's
next nonce itself (one client cannot wait out each transaction at hundreds a second); after a
refusal, a transfer queued behind a nonce gap or a batch whose fate is unknown it sends
nothing until the committed nonces stop moving, and goes on from them. One transaction
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


class PacedLoad(Load):
    """Transfers offered at `rate` a second, whatever the network makes of them."""

    def __init__(self, network: Network, rate: float) -> None:
        super().__init__(network)
        if rate <= 0:
            raise TestnetError(f"a paced load needs a positive rate, not {rate}")
        self.rate = rate
        self.offered = 0
        self.admitted = 0  # ready for a block (not queued behind a nonce gap)
        self.refused = 0
        self.settles = 0  # pauses until the committed nonces stopped moving

    def _run(self) -> None:
        nonces = self._settle(self.network.url(0), None)
        asked: collections.deque[tuple[float, str, str]] = collections.deque()
        started, base, turn = time.monotonic(), 0, 0
        while not self._stop.is_set():
            owed = int(self.rate * (time.monotonic() - started)) - (self.offered - base)
            gateway = self.network.url(turn % self.network.fabric.hosts)
            if owed > 0:
                senders = [(turn + number) % len(self.keys) for number in range(owed)]
                self.offered += owed
                try:
                    clean = self._tick(gateway, nonces, senders, asked)
                except (httpx.HTTPError, ValueError, KeyError):
                    clean = False  # whether the gateway took the batch is unknown
                if not clean:
                    nonces = self._settle(gateway, nonces)
                    # The pace starts again from here: no burst of what was not sent.
                    started, base = time.monotonic(), self.offered
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                self._ask(asked)
            turn += 1
            self._stop.wait(TICK_S)

    def _tick(
        self,
        gateway: str,
        nonces: list[int],
        senders: list[int],
        asked: collections.deque[tuple[float, str, str]],
    ) -> bool:
        """One batch; whether every transfer in it is ready for a block."""
        txs = []
        for sender in senders:
            to = self.keys[(sender + 1) % len(self.keys)]
            txs.append(transfer(self.keys[sender], nonces[sender], to))
            nonces[sender] += 1
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
        return len(ready) == len(results)

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
