"""The light client (docs/light.md): verify headers from one trusted checkpoint through BLS
certificates, and transactions, receipts, state and notarised execution receipts through
Merkle proofs against them, trusting no full node."""
