"""A malicious full node for the light client's tests: a real HTTP server in front of a real
node that forwards every request and lets a test rewrite the answer (`rewrite(path, status,
body) -> (status, body)`), so that the client meets each lie over the wire."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Rewrite = Callable[[str, int, Any], tuple[int, Any]]


def honest(path: str, status: int, body: Any) -> tuple[int, Any]:
    return status, body


class Proxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.rewrite: Rewrite = honest
        self.redirect: Callable[[str], str] = lambda path: path
        self.posted: list[tuple[str, bytes]] = []
        self._http = httpx.Client(timeout=10)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                answer = proxy._http.get(proxy.upstream + proxy.redirect(self.path))
                status, body = proxy.rewrite(self.path, answer.status_code, answer.json())
                self._send(status, body)

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("content-length", "0")))
                proxy.posted.append((self.path, data))
                answer = proxy._http.post(
                    proxy.upstream + self.path,
                    content=data,
                    headers={"content-type": self.headers.get("content-type", "")},
                )
                self._send(answer.status_code, answer.json())

            def _send(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextlib.contextmanager
def serving(upstream: str) -> Iterator[Proxy]:
    proxy = Proxy(upstream)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()
        proxy._http.close()
        thread.join()
