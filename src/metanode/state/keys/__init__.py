"""keys: post-quantum key policy and migration — accounts that move from Ed25519 to hybrid
(Ed25519 + ML-DSA-65) keys, and the chain's parameters that require hybrid keys (docs/pq.md)."""
