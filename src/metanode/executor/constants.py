"""Limits of the executor role (`*_max`, units last), checked against each other at import."""

from __future__ import annotations

# The sequence number of an app's first call (state/apps numbers calls per app from here).
first_seq = 0
# Calls held for one app while an earlier seq is missing; beyond this the newest are dropped
# (they are still on chain: a node that fell this far behind resyncs from the blocks).
pending_calls_per_app_max = 4_096
# Committed calls queued for the worker thread; `on_committed` refuses more, by a typed error.
queued_calls_max = 65_536
# Calls run in one write transaction of the executor store, synced once and only then published:
# one fsync per call held bench/executor.py at ~480 calls/s; a bound keeps the first receipt
# of a large block from waiting for the block's last call.
calls_per_commit_max = 256
# A write transaction is also committed once its calls have run this long: at ~1 ms a call on
# the loaded 2-core machine, 256 calls held a receipt ~250 ms after it was made, and the median
# call of a 1,000-call bench run half of that (docs/performance.md, "Apps, w14"). An fsync every
# 20 ms costs the worker a few per cent; a bound by calls alone cannot follow the machine's load.
commit_interval_ms = 20
# Receipts answered by one gateway page.
receipts_page_max = 500
# The executor's own LMDB environment (a sparse file: only written pages take disk).
map_bytes = 1 << 36

assert pending_calls_per_app_max <= queued_calls_max
