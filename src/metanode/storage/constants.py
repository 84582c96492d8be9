"""storage limits. Units last; relations checked at import."""

from __future__ import annotations

# A chunk is the unit of transfer, proof and challenge: 64 KiB keeps a proof (32 bytes per
# level) small beside it and a blob of `blob_bytes_max` within a few thousand chunks.
chunk_bytes = 64 * 1024
chunk_bytes_min = 1
blob_bytes_max = 64 * 1024 * 1024
# zfec allows up to 256 shares; a placement names each share's node on chain, so fewer.
shares_max = 32
# The on-chain record's size bound: every share's node is named, each stripe's chunks proven.
stripes_max = blob_bytes_max // chunk_bytes

assert 1 <= shares_max <= 256
assert chunk_bytes_min <= chunk_bytes <= blob_bytes_max
