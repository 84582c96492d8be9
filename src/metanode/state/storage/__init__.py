"""storage: blob placements on chain (message 28), their quotas and fees, storage-challenge
faults and the moving of a failed share to another node (message 29), the owner's deletion
(message 42) and the app modules stored as blobs (message 41, state/apps); docs/storage.md."""
