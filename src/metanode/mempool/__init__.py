"""Layer 3: the mempool — admission (decode once, check, verify once), fee priority across
senders, nonce order within a sender, replacement, bounds and expiry."""
