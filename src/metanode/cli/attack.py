"""The attackers of `metanode bench --attack`: real abusive clients and a rogue peer against a
real network, while the load processes submit honest transfers (docs/security.md "Measured").

Run as `python -m metanode.cli.attack SPEC.json`, twice (SPEC's `part`: the HTTP attacks, and
the rogue peer in a process of its own), started like a load process (load.py): it prepares
what it sends, writes SPEC.ready, waits for SPEC.start, attacks until the load ends,
and writes what it sent and what it was answered to SPEC.out.json. Each attack comes from its
own loopback address (127.0.0.20 and up), so each is one subject of the gateways' guards:

| attack | from | what |
|---|---|---|
| flood | 127.0.0.20 | `GET /api/v1/status` at four times a client's allowance |
| bad_signatures | 127.0.0.21 | transfers whose signature is random bytes |
| oversize_bodies | 127.0.0.22 | bodies past `[api] request_bytes_max` |
| nonce_spam | 127.0.0.23 | well-signed transfers a million nonces ahead |
| slow_loris | 127.0.0.24 | 30 connections a gateway, each half a request's headers, stalled |
| duplicates | the rogue peer | the same gossip frame over and over, with bad signatures in it |

The rogue peer is a node identity the bench adds to every validator's `[p2p] peers` (as an
operator would add a full node), so its links are real authenticated links and it is scored
as `peer:<its node id>`. The rates are fixed and each HTTP attack is paced per gateway, so the
attackers ask for the same in every run (what they were answered is in SPEC.out.json).

Wall-clock times here are the client side's, as in load.py.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metanode.crypto import ed25519
from metanode.net import tls
from metanode.net.frames import Txs
from metanode.net.transport import Network, PeerConfig
from metanode.node import config as node_config
from metanode.types import Address, Denom, Transaction, Transfer

from .load import CBOR

FIRST_SOURCE = 20  # 127.0.0.20 and up; the load processes use 127.0.0.2 and up
HTTP_ATTACKS = ("flood", "bad_signatures", "oversize_bodies", "nonce_spam", "slow_loris")
ATTACKS = (*HTTP_ATTACKS, "duplicates")
PARTS = ("http", "peer")  # a process each: the HTTP attacks, the rogue peer
# Requests per second of each HTTP attack on each gateway (a client's allowance is 50).
# The flood is kept at four times the allowance, not more: the attackers share this machine's
# cores with the network, and a measure of the guard should not be one of the attackers' CPU.
PER_S = {"flood": 200, "bad_signatures": 20, "oversize_bodies": 2, "nonce_spam": 30}
SLOW_CONNECTIONS = 30  # per gateway, under `[api] connections_per_client_max`
SLOW_REOPEN_PAUSE_S = 0.5
GOSSIP_FRAMES_PER_S = 50  # the rogue's duplicate frames, to each validator
GOSSIP_FRAME_TXS = 20
PREPARED_TXS = 500  # signed in advance and sent in turn
# Connections of one attack on one gateway: one for each `LANE_PER_S_MAX` requests a second,
# as a lane waits for each answer (a tenth of a second and more on a busy machine).
LANE_PER_S_MAX = 20
REQUEST_TIMEOUT_S = 10
NONCE_AHEAD = 1_000_000
ROGUE = "rogue"


def source(attack: str) -> str:
    return f"127.0.0.{FIRST_SOURCE + HTTP_ATTACKS.index(attack)}"


@dataclass(frozen=True, slots=True)
class Rogue:
    """The rogue peer's identity and where it listens."""

    seed: bytes
    port: int

    @property
    def node_id(self) -> Address:
        return tls.node_id(ed25519.PrivateKey.from_seed(self.seed).public_key)


def subjects(rogue: Rogue) -> dict[str, str]:
    """Each attacker's guard subject → its attack."""
    found = {f"client:{source(attack)}": attack for attack in HTTP_ATTACKS}
    found[f"peer:{rogue.node_id}"] = "duplicates"
    return found


def admit_rogue(config_paths: list[Path], rogue: Rogue, home: Path) -> None:
    """Add the rogue peer to every validator's `[p2p] peers`, its certificate beside them."""
    certificate = home / "rogue.pem"
    certificate.write_bytes(tls.certificate_pem(rogue.seed))
    peer = node_config.Peer(
        name=ROGUE,
        node_id=str(rogue.node_id),
        port=rogue.port,
        certificate=str(certificate),
    )
    for path in config_paths:
        config = node_config.load(path)
        p2p = config.p2p.model_copy(update={"peers": [*config.p2p.peers, peer]})
        path.write_text(node_config.to_toml(config.model_copy(update={"p2p": p2p})))


def _transfers(spec: dict[str, Any], count: int, *, good_signatures: bool) -> list[bytes]:
    key = ed25519.PrivateKey.generate()
    recipient = Address.from_public_key(ed25519.PrivateKey.generate().public_key)
    found = []
    for index in range(count):
        unsigned = Transaction(
            spec["chain_id"],
            key.public_key,
            NONCE_AHEAD + index,
            1_000,
            spec["expiry_height"],
            Transfer(recipient, 1, Denom.FLX),
        )
        signature = (
            key.sign(unsigned.signing_message()) if good_signatures else secrets.token_bytes(64)
        )
        found.append(unsigned.with_signature(signature).encode())
    return found


class _Tally:
    """What each attack sent and the answers it got, by HTTP status or outcome."""

    def __init__(self, attacks: tuple[str, ...]) -> None:
        self.answers: dict[str, dict[str, int]] = {attack: {} for attack in attacks}
        self.cut = False  # some attack still hung at the end and was cut

    def add(self, attack: str, answer: str) -> None:
        counts = self.answers[attack]
        counts[answer] = counts.get(answer, 0) + 1


async def _ticks(per_s: float, until: float) -> AsyncIterator[int]:
    """0, 1, 2, … each when due at `per_s` a second from now, until `until`."""
    number = 0
    started = time.time()
    while time.time() < until:
        due = started + number / per_s
        if due > time.time():
            await asyncio.sleep(due - time.time())
        yield number
        number += 1


def _request(host: str, body: bytes | None) -> bytes:
    if body is None:
        return f"GET /api/v1/status HTTP/1.1\r\nhost: {host}\r\n\r\n".encode()
    head = f"POST /api/v1/txs HTTP/1.1\r\nhost: {host}\r\ncontent-type: {CBOR['content-type']}"
    return f"{head}\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body


async def _answer(reader: asyncio.StreamReader) -> tuple[str, bool]:
    """(status, whether the gateway keeps the connection) of one HTTP/1.1 answer."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    await reader.readexactly(int(fields.get("content-length", "0")))
    return lines[0].split(" ", 2)[1], fields.get("connection") != "close"


async def _paced(
    attack: str, gateway: str, until: float, tally: _Tally, bodies: list[bytes] | None
) -> None:
    """Requests at the attack's rate over keep-alive connections ("lanes"), each sending its
    next request when due and its answer is in. Written by hand rather than with httpx: on a
    busy machine httpx's cost per request held the attackers far below their rates."""
    host, _, port = gateway.removeprefix("http://").partition(":")
    requests = [_request(host, body) for body in bodies or [None]]
    lanes = -(-PER_S[attack] // LANE_PER_S_MAX)

    async def lane(offset: int) -> None:
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        async for number in _ticks(PER_S[attack] / lanes, until):
            try:
                if connection is None:
                    connection = await asyncio.open_connection(
                        host, int(port), local_addr=(source(attack), 0)
                    )
                reader, writer = connection
                writer.write(requests[(number * lanes + offset) % len(requests)])
                status, kept = await asyncio.wait_for(_answer(reader), REQUEST_TIMEOUT_S)
                tally.add(attack, status)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as error:
                tally.add(attack, type(error).__name__)
                kept = False
            if not kept and connection is not None:
                connection[1].close()
                connection = None
        if connection is not None:
            connection[1].close()

    await asyncio.gather(*(lane(offset) for offset in range(lanes)))


async def _slow_loris(host: str, port: int, until: float, tally: _Tally) -> None:
    """`SLOW_CONNECTIONS` connections held open at once, each sending half a request's headers
    and waiting for the gateway to give up on it (408), then opened again."""

    async def hold() -> None:
        while time.time() < until:
            try:
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(source("slow_loris"), 0)
                )
            except OSError as error:
                tally.add("slow_loris", type(error).__name__)
            else:
                writer.write(b"GET /api/v1/status HTTP/1.1\r\nHost: gateway\r\n")
                tally.add("slow_loris", "opened")
                try:
                    answer = await asyncio.wait_for(reader.read(), max(0.0, until - time.time()))
                    tally.add(
                        "slow_loris", answer.split(b" ", 2)[1].decode() if answer else "closed"
                    )
                except (TimeoutError, OSError, IndexError, UnicodeDecodeError):
                    tally.add("slow_loris", "held_to_the_end")
                writer.close()
            await asyncio.sleep(SLOW_REOPEN_PAUSE_S)

    await asyncio.gather(*(hold() for _ in range(SLOW_CONNECTIONS)))


async def _rogue_peer(spec: dict[str, Any], until: float, tally: _Tally) -> None:
    """Links to every validator as the rogue peer and gossips one frame again and again."""
    validators = [
        PeerConfig(Address.parse(node_id), "127.0.0.1", port, Path(pem).read_bytes())
        for node_id, port, pem in spec["validators"]
    ]
    rogue = Rogue(bytes.fromhex(spec["rogue_seed"]), spec["rogue_port"])
    network = Network(rogue.seed, "127.0.0.1", rogue.port, validators, lambda *_: None)
    half = GOSSIP_FRAME_TXS // 2
    frame = Txs(
        tuple(
            _transfers(spec, half, good_signatures=True)
            + _transfers(spec, half, good_signatures=False)
        )
    )
    await network.start()
    try:
        async for _ in _ticks(GOSSIP_FRAMES_PER_S, until):
            for peer in validators:
                if peer.node_id in network.connected():
                    network.send(peer.node_id, frame)
                    tally.add("duplicates", "sent")
                else:
                    tally.add("duplicates", "not_linked")
    finally:
        await network.stop()


async def _attack(spec: dict[str, Any], until: float, tally: _Tally) -> None:
    if spec["part"] == "peer":
        tasks = [_rogue_peer(spec, until, tally)]
    else:
        oversize = [bytes(spec["request_bytes_max"] + 1)]
        bad = _transfers(spec, PREPARED_TXS, good_signatures=False)
        ahead = _transfers(spec, PREPARED_TXS, good_signatures=True)
        tasks = []
        for gateway in spec["gateways"]:
            host, _, port = gateway.removeprefix("http://").partition(":")
            tasks += [
                _paced("flood", gateway, until, tally, None),
                _paced("bad_signatures", gateway, until, tally, bad),
                _paced("oversize_bodies", gateway, until, tally, oversize),
                _paced("nonce_spam", gateway, until, tally, ahead),
                _slow_loris(host, int(port), until, tally),
            ]
    # Every attack ends at `until`; a link or a request that hangs past it is cut, so that the
    # bench's wait for this process is bounded too.
    try:
        async with asyncio.timeout(max(0.0, until - time.time()) + REQUEST_TIMEOUT_S):
            await asyncio.gather(*tasks)
    except TimeoutError:
        tally.cut = True  # an attack still hung


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    Path(spec_path + ".ready").write_text("0")
    start_path = Path(spec_path + ".start")
    while not start_path.exists():
        time.sleep(0.01)
    start = float(start_path.read_text())
    while time.time() < start:
        time.sleep(0.001)
    tally = _Tally(HTTP_ATTACKS if spec["part"] == "http" else ("duplicates",))
    asyncio.run(_attack(spec, start + spec["duration_s"], tally))
    Path(spec_path + ".out.json").write_text(
        json.dumps({"answers": tally.answers, "cut": tally.cut})
    )


if __name__ == "__main__":
    main(sys.argv[1])
