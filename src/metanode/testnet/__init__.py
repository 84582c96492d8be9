"""`metanode testnet --netns`: validators on hosts of their own (network namespaces), a
seeded fault schedule, and the checks of safety and liveness after it (docs/testnet.md)."""
