"""genesis: the genesis file (chain id, kind, time, parameters, accounts, validators with keys
and proofs of possession, delegations, unbondings), loaded with errors that name the bad field,
written into state, and exported back out."""
