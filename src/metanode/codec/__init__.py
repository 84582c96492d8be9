"""Layer 1: deterministic CBOR (RFC 8949 §4.2.1) and the single registry of domain tags.

`encode(value)` writes the one deterministic encoding of a value; `decode(data)` accepts only
that encoding and names the broken rule and its byte offset otherwise. Both take a `profile`:
CONSENSUS (the default: no floats, registered tags only) or DATA (any deterministic CBOR).
"""

from metanode.codec.decoder import decode, decode_typed, validate
from metanode.codec.encoder import Profile, encode

__all__ = ["Profile", "decode", "decode_typed", "encode", "validate"]
