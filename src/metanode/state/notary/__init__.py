"""notary: LogBlocks on chain, the receipts' inclusion proofs, disputes, and the PoE mint."""
