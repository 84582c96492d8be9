"""auth: the transaction guard ladder (chain, expiry, fee floor, signature, nonce, fee balance),
nonces, and fee charging. A transaction that fails the ladder is never in a block."""
