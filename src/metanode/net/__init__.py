"""Peer links: TLS 1.3 bound to each node's Ed25519 key, length-prefixed CBOR frames, peer
scoring, reconnection with backoff (`transport.py` is the one asyncio module here)."""
