"""Layer 3: DockLock, the determinism cage for WASM apps — fuel, a witness log, signed chained
receipts, and replay that finds the exact step where a run diverges."""
