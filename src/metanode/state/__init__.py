"""Layer 3: the ledger's state machine, its authenticated state and its LMDB store.

- `machine.apply_block(state, block)` is pure: it reads committed state through the reader
  protocol of `view.py`, runs each transaction through the auth guard ladder and its module's
  rules, and returns a `BlockChanges` (sorted writes, the new state root from one batch update
  of `tree.py`, the receipts and their root, the state after the block). `build_block` is the
  proposer's side of the same execution.
- Modules (`auth`, `bank`, `staking`, `faucet`, `genesis`) each own their key prefixes, result
  codes (`codes.py`), rules, read-only queries, genesis import/export and named invariants
  (`invariants.py` runs them all). The mempool reads accounts through
  `auth.queries.AdmissionView`; consensus reads validator sets through `staking.queries`.
- `store.py` is the one I/O module: one LMDB environment, one write transaction per block;
  `ledger.MemoryLedger` is its in-memory twin for tests and replay. docs/ledger.md has the
  key layout, the codes and the storage figures.
"""
