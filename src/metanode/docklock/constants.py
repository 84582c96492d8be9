"""Limits of the cage (`*_max`, units last), checked against each other at import."""

from __future__ import annotations

fuel_max = 50_000_000  # default fuel per call (one unit ≈ one wasm instruction)
memory_bytes_max = 16 * 1024 * 1024  # linear memory per instance
stack_bytes_max = 256 * 1024  # native stack for wasm frames
instances_max = 1
tables_max = 1
memories_max = 1
input_bytes_max = 1024 * 1024
output_bytes_max = 1024 * 1024
log_bytes_max = 64 * 1024
key_bytes_max = 256
value_bytes_max = 64 * 1024
state_entries_max = 100_000
witness_records_max = 100_000
module_bytes_max = 8 * 1024 * 1024
module_cache_max = 64
# SD-JWT checks one call may ask the host for (each a few Ed25519 and SHA-256 operations), and
# the size of one request (a presentation with its issuer key, audience and nonce).
sd_jwt_verifications_max = 64
sd_jwt_request_bytes_max = 20 * 1024

assert input_bytes_max <= memory_bytes_max
assert output_bytes_max <= memory_bytes_max
assert key_bytes_max < value_bytes_max
