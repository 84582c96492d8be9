"""The one factory of the project's HTTP clients of a gateway (sync and async).

A gateway (uvicorn) closes a kept-alive connection after `gateway_keepalive_s` idle, and
httpx reuses an idle connection for its `keepalive_expiry`, 5 s by default too. A client that
sends on a connection in the instant the server closes it gets "Server disconnected without
sending a response" (`httpx.RemoteProtocolError`): the keep-alive race (encode/httpx#2487).
It cannot happen while a client drops an idle connection well before the server does (the
field's fix, e.g. NVIDIA-NeMo/Gym#1555), so every client here forgets one after
`client_keepalive_expiry_s`. A read whose connection still closes before it is answered (a
node restarting, a front between) is sent once more.
"""

from __future__ import annotations

import httpx

# uvicorn's own default, now set by name so the clients' bound below follows it.
gateway_keepalive_s = 5
# Well below the gateway's: the client counts from when it read an answer, the server from
# when it sent it, and a loaded loop on either side (or the network) stretches that gap.
client_keepalive_expiry_s = 2.0
if not client_keepalive_expiry_s <= gateway_keepalive_s / 2:
    raise ValueError("client_keepalive_expiry_s must be at most half of gateway_keepalive_s")

# httpx's own pool sizes, with the expiry above.
limits = httpx.Limits(
    max_connections=100, max_keepalive_connections=20, keepalive_expiry=client_keepalive_expiry_s
)

# RFC 9110 §9.2.2: a request whose connection failed before any answer came may be sent again
# automatically if its method is idempotent; only reads are, of the requests made here.
retried_methods = frozenset({"GET", "HEAD"})
# Raised before the answer's head arrived: the server closed the connection (cleanly, or with
# a reset when the request reached it already closed), the keep-alive race's two faces.
closed_before_answer = (httpx.RemoteProtocolError, httpx.ReadError)


class _Transport(httpx.HTTPTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return super().handle_request(request)
        except closed_before_answer:
            if request.method not in retried_methods:
                raise
            return super().handle_request(request)


class _AsyncTransport(httpx.AsyncHTTPTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except closed_before_answer:
            if request.method not in retried_methods:
                raise
            return await super().handle_async_request(request)


# Each client is given `limits` too: httpx builds the transports of proxies named in the
# environment with them.
def client(timeout_s: float) -> httpx.Client:
    return httpx.Client(timeout=timeout_s, limits=limits, transport=_Transport(limits=limits))


def async_client(timeout_s: float, *, local_address: str | None = None) -> httpx.AsyncClient:
    """`local_address`: the source address of the client's connections (a load that should
    be one client of the gateways' guards apart from the others)."""
    transport = _AsyncTransport(limits=limits, local_address=local_address)
    return httpx.AsyncClient(timeout=timeout_s, limits=limits, transport=transport)
