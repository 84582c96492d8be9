"""The garbage collector's settings for a long-running node process.

Why: on CPython's defaults (a young collection every 700 net allocations of container
objects, a full one after ten of the middle generation), each validator of a 40 s run of
`metanode bench --validators 4 --rate max` spent 5.0 s inside the collector (wall time timed
with `gc.callbacks`, which a saturated CPU inflates) of ~17 s of CPU, 3.4 s of it in full
collections of ~0.2 s each, which walk every object alive, the tens of thousands made at
start-up (modules, functions, the genesis) included. Nearly all
of a node's garbage is freed by reference counting the moment it is dropped (a decoded
transaction, a block's writes); the collector is there for the rare cycle.

So, once the node is built:
- `gc.freeze()` moves every object alive then (code, configuration, genesis) to a permanent
  generation that no collection walks again;
- the young generation is collected every `young_threshold` net allocations instead of 700,
  so a collection finds most short-lived objects already freed.
Measured with the same bench (docs/performance.md): time inside the collector fell to ~0.35 s
per validator; alternating runs gave 1,611 / 2,169 → 1,981 / 2,662 TPS with an experimental
setting of the same idea, and 2,417 / 2,272 → 2,475 / 2,344 with this one (within noise). The
cost is bounded: cyclic garbage waits for at most `young_threshold` allocations (a few MB).
"""

from __future__ import annotations

import gc

young_threshold = 100_000
# The older generations keep CPython's ratios: one middle collection per ten young ones, one
# full collection per ten middle ones (and CPython's own rule: only when the objects that
# survived into the oldest generation since the last full collection are a quarter of it).
older_ratio = 10


def tune_for_node() -> None:
    """Freeze what start-up built and collect the young generation less often (see above)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(young_threshold, older_ratio, older_ratio)
