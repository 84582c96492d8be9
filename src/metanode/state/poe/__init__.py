"""poe: Proof-of-Execution, the NEX a notarised LogBlock mints to its executors."""
