"""Mempool admission against the machine's signature-verification limit.

20,000 pre-signed transfers from 1,000 senders, admitted in batches of 1,000 (decode, ladder,
signature verification in two worker processes, insertion). verify_only_tps is one core's Ed25519
verification rate measured in the same run; ratio = admission_tps / (2 × verify_only_tps).

Last line: admission_tps=… verify_only_tps=… ratio=…
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from metanode.crypto import ed25519
from metanode.mempool.pool import Pool
from metanode.state.codes import OK
from metanode.types import Address, Denom, Transaction, Transfer

CHAIN = "bench"
SENDERS = 1_000
PER_SENDER = 20
BATCH = 1_000


@dataclass
class Accounts:
    fee_min: int = 1
    rows: dict[Address, tuple[int, int]] = field(default_factory=dict)

    def account(self, address: Address) -> tuple[int, int]:
        return self.rows.get(address, (0, 0))

    def key_rung(self, tx: Transaction, sender: Address, nonce: int) -> int:
        return OK  # Ed25519 senders that never migrated


def main() -> None:
    keys = [ed25519.PrivateKey.from_seed(index.to_bytes(32, "big")) for index in range(SENDERS)]
    ledger = Accounts(rows={Address.from_public_key(k.public_key): (0, 10**15) for k in keys})
    to = Address.from_public_key(bytes(32))
    raws = []
    for nonce in range(PER_SENDER):
        for key in keys:
            unsigned = Transaction(
                CHAIN, key.public_key, nonce, 1_000, 10**6, Transfer(to, 5, Denom.FLX)
            )
            raws.append(unsigned.with_signature(key.sign(unsigned.signing_message())).encode())
    sample = [Transaction.decode(raw) for raw in raws[:2_000]]
    items = [(t.sender, t.signing_message(), t.signature) for t in sample]
    started = time.perf_counter()
    assert all(ed25519.verify_many(items))
    verify_only = len(items) / (time.perf_counter() - started)

    pool = Pool(CHAIN)
    started = time.perf_counter()
    admitted = 0
    for start in range(0, len(raws), BATCH):
        admitted += sum(
            r.admitted for r in pool.admit_batch(raws[start : start + BATCH], ledger, 1)
        )
    elapsed = time.perf_counter() - started
    assert admitted == len(raws), admitted
    admission = len(raws) / elapsed
    print(f"{len(raws)} transactions admitted in {elapsed:.2f} s")
    print(
        f"admission_tps={admission:.0f} verify_only_tps={verify_only:.0f} "
        f"ratio={admission / (2 * verify_only):.2f}"
    )


if __name__ == "__main__":
    main()
