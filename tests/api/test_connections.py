"""A hostile HTTP client against a real node's gateway, over real sockets: clients that
disconnect mid-body, send half a request and wait, or open connection after connection.

Raw sockets are bound to other loopback addresses (127.0.1.x) so that each plays a client of
its own, apart from the test's own httpx client on 127.0.0.1.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.cluster import Cluster, running

PER_CLIENT = 8
HEADER_TIMEOUT_MS = 1_000
BODY_TIMEOUT_MS = 1_500


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    settings = {
        "connections_per_client_max": PER_CLIENT,
        "header_timeout_ms": HEADER_TIMEOUT_MS,
        "body_timeout_ms": BODY_TIMEOUT_MS,
    }
    home = Path(tmp_path_factory.mktemp("connections")) / "net"
    with running(home, validators=1, settings=settings) as network:
        network.wait_height(1, timeout_s=60)
        yield network


def connect(cluster: Cluster, client: str) -> socket.socket:
    sock = socket.socket()
    sock.bind((client, 0))
    sock.connect(("127.0.0.1", cluster.api_port["v0"]))
    sock.settimeout(10)
    return sock


def dropped(cluster: Cluster, reason: str) -> float:
    text = cluster.client.get(cluster.url("v0") + "/metrics").text
    found = re.search(
        rf'^metanode_api_connections_dropped_total{{reason="{reason}"}} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


def read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def status_over(sock: socket.socket) -> bytes:
    """GET /api/v1/status on a kept-alive connection: the whole answer, read to its end."""
    sock.sendall(b"GET /api/v1/status HTTP/1.1\r\nhost: node\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer and (chunk := sock.recv(4096)):
        answer += chunk
    length = re.search(rb"content-length: (\d+)", answer, re.I)
    while length and len(answer.partition(b"\r\n\r\n")[2]) < int(length.group(1)):
        answer += sock.recv(4096)
    return answer


def test_clients_that_disconnect_mid_body_are_counted_without_a_traceback(
    cluster: Cluster,
) -> None:
    before = dropped(cluster, "client_disconnect")
    for number in range(200):
        path = ("/api/v1/txs", "/api/v1/faucet")[number % 2]
        # 50 addresses, 4 connections each: the per-client bound is not what is tested here
        sock = connect(cluster, f"127.0.1.{1 + number % 50}")
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nhost: node\r\ncontent-type: application/json\r\n"
            "content-length: 100\r\n\r\n".encode()
            + b'{"tx": "00'
        )
        sock.close()
    cluster.wait(
        lambda: dropped(cluster, "client_disconnect") - before >= 200, 30, "200 disconnects"
    )
    assert dropped(cluster, "client_disconnect") - before == 200
    log = cluster.log("v0")
    assert "Traceback" not in log and "ClientDisconnect" not in log, log[-3000:]
    assert cluster.status("v0") is not None  # and the gateway still answers


@pytest.mark.parametrize(
    ("sent", "reason", "bound_ms"),
    [
        (b"", "header_timeout", HEADER_TIMEOUT_MS),
        (b"GET /api/v1/status HTTP/1.1\r\nhost: node\r\n", "header_timeout", HEADER_TIMEOUT_MS),
        (
            b"POST /api/v1/txs HTTP/1.1\r\nhost: node\r\ncontent-type: application/json\r\n"
            b'content-length: 100\r\n\r\n{"tx": "00',
            "body_timeout",
            BODY_TIMEOUT_MS,
        ),
    ],
    ids=["nothing", "partial-headers", "partial-body"],
)
def test_a_half_sent_request_is_answered_408_and_closed_within_its_bound(
    cluster: Cluster, sent: bytes, reason: str, bound_ms: int
) -> None:
    before = dropped(cluster, reason)
    sock = connect(cluster, "127.0.2.1")
    started = time.monotonic()
    sock.sendall(sent)
    answer = read_until_closed(sock)
    waited = time.monotonic() - started
    sock.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert bound_ms / 1000 - 0.1 <= waited <= bound_ms / 1000 + 3, waited
    assert dropped(cluster, reason) - before == 1


def test_a_client_past_its_connection_bound_is_refused_while_others_are_served(
    cluster: Cluster,
) -> None:
    held = [connect(cluster, "127.0.3.1") for _ in range(PER_CLIENT)]
    try:
        for sock in held:  # every connection within the bound is served, and stays open
            assert status_over(sock).startswith(b"HTTP/1.1 200 ")
        one_more = connect(cluster, "127.0.3.1")
        answer = read_until_closed(one_more)  # refused at once, before it sends anything
        one_more.close()
        assert answer.startswith(b"HTTP/1.1 503 ") and b"too many connections" in answer
        other = connect(cluster, "127.0.3.2")  # another client is not held back
        assert status_over(other).startswith(b"HTTP/1.1 200 ")
        other.close()
        assert status_over(held[0]).startswith(b"HTTP/1.1 200 ")
    finally:
        for sock in held:
            sock.close()
    cluster.wait(lambda: served(cluster, "127.0.3.1"), 10, "closed connections to free slots")


def served(cluster: Cluster, client: str) -> bool:
    with connect(cluster, client) as sock:
        return status_over(sock).startswith(b"HTTP/1.1 200 ")
