"""registry: the node registry. Nodes register as a type (community, enterprise, hybrid, bank
authority, government authority) with roles, keys, a P2P address, a DID and locked stake;
equivocation evidence submitted in a transaction slashes and jails a validator."""
