"""The project's HTTP clients against a real uvicorn server kept alive as the gateway is: an
idle connection is dropped by the client before the server drops it, so the next request
opens a new one instead of racing the server's close."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from metanode.net import http

# Idle between two requests: past the clients' expiry, short of the gateway's keep-alive.
IDLE_S = (http.client_keepalive_expiry_s + http.gateway_keepalive_s) / 2
START_TIMEOUT_S = 10


async def client_port(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers each request with the client's port: one port, one connection."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(scope["client"][1]).encode()})


@pytest.fixture
def gateway() -> Iterator[str]:
    """A uvicorn server on an ephemeral port with the gateway's keep-alive."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        client_port,
        lifespan="off",
        log_level="warning",
        log_config=None,
        timeout_keep_alive=http.gateway_keepalive_s,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the uvicorn server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{listening.getsockname()[1]}/"
    server.should_exit = True
    thread.join(START_TIMEOUT_S)
    listening.close()


def ports_across_idle(client: httpx.Client, url: str) -> tuple[str, str]:
    first = client.get(url).text
    time.sleep(IDLE_S)
    return first, client.get(url).text


def test_client_opens_a_new_connection_after_its_expiry(gateway: str) -> None:
    with http.client(START_TIMEOUT_S) as client:
        first, second = ports_across_idle(client, gateway)
    assert first != second


def test_async_client_opens_a_new_connection_after_its_expiry(gateway: str) -> None:
    async def scenario() -> tuple[str, str]:
        async with http.async_client(START_TIMEOUT_S, local_address="127.0.0.1") as client:
            first = (await client.get(gateway)).text
            await asyncio.sleep(IDLE_S)
            return first, (await client.get(gateway)).text

    first, second = asyncio.run(scenario())
    assert first != second


def test_httpx_default_client_reuses_the_connection_it_would_race(gateway: str) -> None:
    """What the factory changes: httpx's own expiry is the gateway's keep-alive, so its client
    still holds the connection across the same idle (and would send on it as the server closes
    it once the idle reaches the keep-alive)."""
    with httpx.Client(timeout=START_TIMEOUT_S) as client:
        first, second = ports_across_idle(client, gateway)
    assert first == second


class ClosesFirstConnection:
    """A real HTTP/1.1 server on a socket: it reads the request on its first connection and
    closes it unanswered (the gateway closing a kept-alive one), and answers 200 on the next."""

    def __init__(self) -> None:
        self.listening = socket.create_server(("127.0.0.1", 0))
        self.listening.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listening.getsockname()[1]}/"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> ClosesFirstConnection:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(START_TIMEOUT_S)
        self.listening.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listening.accept()
            except TimeoutError:
                continue
            with connection:
                self.connections += 1
                head = b""
                while b"\r\n\r\n" not in head and (data := connection.recv(4096)):
                    head += data
                if self.connections > 1:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")


def test_client_sends_a_read_again_when_its_connection_closed_unanswered() -> None:
    with ClosesFirstConnection() as server, http.client(START_TIMEOUT_S) as client:
        assert client.get(server.url).status_code == 200
    assert server.connections == 2


def test_async_client_sends_a_read_again_when_its_connection_closed_unanswered() -> None:
    async def scenario(url: str) -> int:
        async with http.async_client(START_TIMEOUT_S) as client:
            return (await client.get(url)).status_code

    with ClosesFirstConnection() as server:
        assert asyncio.run(scenario(server.url)) == 200
    assert server.connections == 2


def test_client_does_not_send_a_write_again() -> None:
    """A POST may have taken effect before its connection closed: it is the caller's to resend."""
    with (
        ClosesFirstConnection() as server,
        http.client(START_TIMEOUT_S) as client,
        pytest.raises(http.closed_before_answer),
    ):
        client.post(server.url)
    assert server.connections == 1
