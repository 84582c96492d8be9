"""storage: blob placements on chain (message 28), their quotas and fees, storage-challenge
faults and the moving of a failed share to another node (message 29); docs/storage.md."""
