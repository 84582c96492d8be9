"""What `metanode bench --attack` and `--record-trace` do to a network's configuration before
it starts: the rogue peer every validator admits, the recording each validator writes, and the
recordings joined into one file (the runs themselves: tests/guard/test_live.py)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from metanode.cli import attack
from metanode.cli.bench import RECORDING, _join_recordings, _record_guards
from metanode.guard import record
from metanode.guard.score import Allowance, Kind
from metanode.guard.watch import Watch
from metanode.net import tls
from metanode.node import config as node_config
from metanode.node import home as dev_home


def _configs(tmp_path: Path) -> list[Path]:
    entries = dev_home.init_dev(tmp_path / "net", validators=2, accounts=0)
    return [entry.config_path for entry in entries]


def test_every_validator_admits_the_rogue_peer_by_its_certificate(tmp_path: Path) -> None:
    paths = _configs(tmp_path)
    rogue = attack.Rogue(os.urandom(32), 40_000)
    attack.admit_rogue(paths, rogue, tmp_path / "net")
    for path in paths:
        (peer,) = [p for p in node_config.load(path).p2p.peers if p.name == attack.ROGUE]
        assert peer.node_id == str(rogue.node_id) and peer.port == 40_000
        key, _ = tls.node_certificate(node_config.resolve(path, peer.certificate).read_bytes())
        assert tls.node_id(key) == rogue.node_id
    subjects = attack.subjects(rogue)
    assert sorted(subjects.values()) == sorted(attack.ATTACKS)
    assert subjects[f"peer:{rogue.node_id}"] == "duplicates"
    assert subjects[f"client:{attack.source('flood')}"] == "flood"


def test_each_validator_records_and_the_recordings_join_one_section_each(tmp_path: Path) -> None:
    paths = _configs(tmp_path)
    _record_guards(paths)
    for index, path in enumerate(paths):
        assert node_config.load(path).guard.record == RECORDING
        watch = Watch(Allowance(50, 100), [], lambda *_: None, lambda *_: None)
        origin = watch.record(path.parent / RECORDING, f"v{index}").origin_ms
        watch.client(f"127.0.0.{2 + index}", Kind.REQUEST, origin, 9)
        watch.close()
    joined = tmp_path / "out" / "trace.jsonl"
    _join_recordings(paths, joined)
    sections = record.load(joined)
    assert [section.observer for section in sections] == ["v0", "v1"]
    assert [section.observations[0][1] for section in sections] == [
        "client:127.0.0.2",
        "client:127.0.0.3",
    ]


def test_the_attackers_http_client_reads_status_and_whether_the_connection_is_kept() -> None:
    """The hand-written HTTP/1.1 of the attackers (attack._paced) on a real socket."""
    answers = [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        b"HTTP/1.1 403 Forbidden\r\nConnection: close\r\ncontent-length: 3\r\n\r\nno\n",
    ]
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for answer in answers:
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"content-length: (\d+)", head)
            received.append(head + await reader.readexactly(int(length[1]) if length else 0))
            writer.write(answer)
        writer.close()

    async def scenario() -> list[tuple[str, bool]]:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        found = []
        for body in (None, b"\x01\x02"):
            writer.write(attack._request("gateway", body))
            found.append(await attack._answer(reader))
        writer.close()
        server.close()
        return found

    assert asyncio.run(scenario()) == [("200", True), ("403", False)]
    assert received[0].startswith(b"GET /api/v1/status HTTP/1.1\r\nhost: gateway\r\n")
    assert received[1].startswith(b"POST /api/v1/txs HTTP/1.1\r\n")
    assert received[1].endswith(b"content-length: 2\r\n\r\n\x01\x02")
