"""Limits of the peer layer (`*_max`, units last)."""

from __future__ import annotations

from metanode.types import constants as types_constants

# A frame carries at most one block with its certificate, or one batch of transactions.
frame_bytes_max = types_constants.block_bytes_max + 64 * 1024
length_prefix_bytes = 4
txs_per_frame_max = 5_000
# The transactions of one TXS frame, in bytes (frames.txs_frames cuts batches by it): a block's
# worth, which the frame carries with room to spare.
txs_frame_bytes_max = types_constants.block_bytes_max
# Execution receipts gossiped in one frame (a receipt is about 400 bytes); like every frame
# they also count against the per-peer token bucket below.
receipts_per_frame_max = 1_000
# An app state page's entries and proof (executor/handover.py): a frame holds one with its
# receipt; small enough that pages of a large state interleave with the link's other frames.
app_state_page_bytes_max = 1024 * 1024
# Per peer, frames queued for sending; a peer that cannot keep up is dropped, not buffered.
send_queue_frames_max = 4_096
# Flood control: a token bucket per peer (frames per second, burst).
frames_per_second_max = 2_000
frames_burst_max = 4_000
# Scoring: each offence costs points; at `score_min` the peer is disconnected and banned.
score_start = 100
score_min = 0
penalty_malformed = 50
penalty_oversize = 100
penalty_flood = 25
penalty_unknown_kind = 50
ban_ms = 30_000
# Reconnection: exponential backoff between dial attempts.
backoff_initial_ms = 200
backoff_max_ms = 5_000
handshake_timeout_ms = 5_000
# A sealed record (hybrid.py) is its frame plus the ChaCha20-Poly1305 tag.
seal_overhead_bytes = 16
# A node certificate is about 500 bytes of PEM; anything much larger is not one.
certificate_bytes_max = 4_096
# Peers admitted at run time (registered nodes, docs/registry.md), beyond the configured ones.
admitted_peers_max = 1_000
status_interval_ms = 500

assert frame_bytes_max + seal_overhead_bytes < 2 ** (8 * length_prefix_bytes)
assert txs_per_frame_max * types_constants.tx_bytes_max <= 64 * frame_bytes_max
assert txs_frame_bytes_max + 1024 <= frame_bytes_max
# A LogBlock transaction fits in a TXS frame alone, and a block of them in a BLOCK frame.
assert types_constants.logblock_tx_bytes_max <= txs_frame_bytes_max
assert receipts_per_frame_max * 1024 <= frame_bytes_max
assert app_state_page_bytes_max + 64 * 1024 <= frame_bytes_max
