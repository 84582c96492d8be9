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
