"""Layer 3: the ledger's state machine, its authenticated state and its LMDB store.

- `machine.apply_block(state, block)` is pure: it reads committed state through the reader
  protocol of `view.py`, runs each transaction through the auth guard ladder and its module's
  rules, and returns a `BlockChanges` (sorted writes, the new state root from one tree batch
  update, the receipts and their root, the next validator set).
- Modules (`auth`, `bank`, `staking`, `faucet`) each own their key prefixes, result codes
  (`codes.py`), rules, read-only queries, genesis import/export and named invariants.
- `store.py` is the one I/O module: one LMDB environment, one write transaction per block.
"""
