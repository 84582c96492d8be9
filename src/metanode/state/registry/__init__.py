"""registry: the node registry. Nodes register as a type (community, enterprise, hybrid, bank
authority, government authority) with roles, keys, a P2P address, a DID and locked stake;
equivocation evidence (in a transaction or a block) and light-client attack evidence (in a
block, light_attack.py) slash and jail the validators they convict."""
