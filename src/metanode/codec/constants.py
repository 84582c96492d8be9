"""Limits of the codec, TigerBeetle style (`*_max`, units last), checked against each other."""

from __future__ import annotations

# Whole input to one decode: a block of 5,000 transfers is under 1 MiB; leave room for growth.
input_bytes_max = 16 * 1024 * 1024
# One byte or text string: a WASM module or a witness blob is the largest legitimate item.
item_bytes_max = 8 * 1024 * 1024
# Elements of one array or pairs of one map.
item_count_max = 1 << 20
# Arrays, maps and tags inside each other. Consensus objects nest fewer than 8 deep.
nesting_depth_max = 32

assert item_bytes_max <= input_bytes_max
assert item_count_max <= input_bytes_max
assert 0 < nesting_depth_max < 900  # well under Python's recursion limit
