"""Layer 7: the command-line apps `metanode`, `bpi`, `bpci`, `bpci-core`."""
