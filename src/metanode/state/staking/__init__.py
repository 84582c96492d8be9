"""staking: validators register a BLS key with its proof of possession, accounts bond GEN to
them and unbond it after a delay in blocks; voting power follows bonded stake, and the
validator set a block produces takes effect two heights later."""
