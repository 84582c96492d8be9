"""Ledger throughput and storage: admission, apply, and LMDB bytes per stored transfer.

Builds a genesis of 100,000 funded accounts in a fresh LMDB store and commits WARMUP blocks of
5,000 signed FLX transfers (distinct senders, random recipients) as their proposer does (built
and committed: no admission, no second apply; not timed). Then for each of BLOCKS measured
blocks: 5,000 such transfers are admitted
into the mempool (decode, the state's envelope checks, nonce and fee balance, Ed25519 off the
main thread while the batch is screened), reaped, built into a block by the proposer (not
timed), then applied as a follower applies a block it already verified at admission:
`apply_block` (every transaction through the guard ladder and its rule, the state root from
one tree batch update, receipts and their root) plus `Store.commit` (one LMDB write
transaction, fsync included).

- admission_tps: transactions through `Pool.admit_batch` per second.
- apply_tps: transfers per second of apply_block + state root + LMDB commit.
- apply_cpu_tps: the same over the process's CPU time instead of the wall clock: on a machine
  shared with other work (the wall clock then counts their time too) the figure to compare.
  A line before the last splits that CPU time per transfer into apply_block and Store.commit.
- block_decode_tps: transactions per second through `Block.decode` of each block's bytes,
  without the mempool's lookup (a follower that has not seen them: every one is decoded).
- bytes_per_transfer: growth of the LMDB data file (up to its last used page) over the
  measured blocks divided by their transfers (block, receipts, indexes, state, tree nodes, and
  LMDB's own free pages).
- data_bytes_per_transfer: the tables' share of that growth (the file's growth but for LMDB's
  free list).
The default run's store is young. LMDB is copy-on-write and keeps the pages a transaction
frees for two more, so its free list is the working set of two blocks. Until w26 the two
indexes were keyed by hash and address, so a block inserted ≈ 15,000 entries at random places
and rewrote nearly every leaf page of both; the free list grew with them (458 B a transfer over
blocks 3–12, 227 of them free list) and kept growing past block 100. Since FORMAT 6 a block's
entries go to the indexes' level 0 (≤ 64 rows a table, at the end of each slice's key range)
and each commit sweeps one slice of 64 into level 1 (docs/decisions/ledger-indexes.md), so a
block rewrites a few dozen level-0 pages and ≈ 1/64 of level 1: over blocks 3–12 the file grows
by about what the transfers store (≈ 217 B: blocks +128, the two level-0 tables ≈ +60 at their
young pages' half fill, level 1 ≈ +10 from the slices swept, free list ≈ +20). `--warmup 100`
measures a store 100 blocks old (docs/ledger.md, "Figures"); a whole run is ≈ 60 s on a quiet
machine. The pages of each table at the end are printed with their growth per measured
transfer, and the all-in figure from genesis.
apply_block and Store.commit use the second core where the core can: the tree's update is
split over two threads, and the block row's compression and the node cache's taking of a
committed block's rows run on threads of their own; the cache's taking runs on after
Store.commit returns (the next use of the cache waits for it), so its time is not in apply's.

`--profile` prints a pyinstrument profile of the apply phase. `--blocks N` changes BLOCKS and
`--warmup W` the WARMUP blocks.
Last line: admission_tps=… apply_tps=… bytes_per_transfer=… data_bytes_per_transfer=…
block_decode_tps=… apply_cpu_tps=…
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Container
from pathlib import Path

from metanode.consensus.messages import commit_seal_message
from metanode.crypto import bls, ed25519
from metanode.mempool.pool import Pool
from metanode.node.collector import tune_for_node
from metanode.state.auth.params import AuthParams
from metanode.state.auth.queries import AdmissionView
from metanode.state.bank.genesis import GenesisAccount
from metanode.state.faucet.records import FaucetParams
from metanode.state.genesis.document import GenesisDocument
from metanode.state.machine import LedgerState, Proposal, apply_block, build_block
from metanode.state.staking.genesis import GenesisValidator, StakingGenesis
from metanode.state.staking.records import StakingParams
from metanode.state.store import Store
from metanode.types import Address, Block, CommitCertificate, Denom, Transaction, Transfer
from metanode.types import constants as types_constants

CHAIN = "bench"
ACCOUNTS = 100_000
BLOCK_TXS = 5_000
BLOCKS = 10
WARMUP = 2
# Warm-up blocks between lines of the free list's size.
WARMUP_REPORT_BLOCKS = 10
FEE = 1_000
COIN = 10**9


def genesis(addresses: list[Address]) -> tuple[GenesisDocument, Address, bls.PrivateKey]:
    validator_key = ed25519.PrivateKey.from_seed(b"validator".ljust(32, b"\x00"))
    bls_key = bls.PrivateKey.keygen(b"validator-bls".ljust(32, b"\x00"))
    validator = GenesisValidator(
        validator_key.public_key,
        bls_key.public_key,
        bls_key.prove_possession(),
        bytes(32),
        1_000 * COIN,
    )
    accounts = tuple(
        sorted(
            (GenesisAccount(address, (COIN, 0, 10_000 * COIN, 0)) for address in addresses),
            key=lambda account: account.address,
        )
    )
    document = GenesisDocument(
        CHAIN,
        "dev",
        1_700_000_000_000,
        AuthParams(FEE),
        FaucetParams(True),
        StakingGenesis(StakingParams(), (validator,)),
        accounts,
    )
    return document, validator.address, bls_key


def first_transfers(
    senders: int, accounts: int, rng: random.Random
) -> tuple[GenesisDocument, Address, list[Transaction]]:
    """A genesis of `accounts` funded accounts, its validator's address, and one signed FLX
    transfer (nonce 0) from each of the first `senders` to a random account (the one-block
    benches beside this script: bench/execute.py, bench/apply.py)."""
    keys = [ed25519.PrivateKey.from_seed(index.to_bytes(32, "big")) for index in range(senders)]
    addresses = [Address.from_public_key(key.public_key) for key in keys]
    addresses += [Address(rng.randbytes(20)) for _ in range(accounts - senders)]
    document, proposer, _ = genesis(addresses)
    txs = []
    for key in keys:
        message = Transfer(rng.choice(addresses), rng.randrange(1, COIN), Denom.FLX)
        unsigned = Transaction(CHAIN, key.public_key, 0, FEE, 10**6, message)
        txs.append(unsigned.with_signature(key.sign(unsigned.signing_message())))
    return document, proposer, txs


def signed_block(
    keys: list[ed25519.PrivateKey], addresses: list[Address], index: int, rng: random.Random
) -> list[Transaction]:
    """Block `index`'s transfers: the next BLOCK_TXS senders in turn among `keys`, each at its
    next nonce, to random accounts."""
    txs = []
    for offset in range(BLOCK_TXS):
        key = keys[(index * BLOCK_TXS + offset) % len(keys)]
        nonce = (index * BLOCK_TXS + offset) // len(keys)
        message = Transfer(rng.choice(addresses), rng.randrange(1, COIN), Denom.FLX)
        unsigned = Transaction(CHAIN, key.public_key, nonce, FEE, 10**6, message)
        txs.append(unsigned.with_signature(key.sign(unsigned.signing_message())))
    return txs


def certificate(block: Block, bls_key: bls.PrivateKey) -> CommitCertificate:
    """The lone validator's commit certificate of `block`, which the next block carries."""
    height, round_ = block.header.height, block.header.round
    seal = bls_key.sign(commit_seal_message(height, round_, block.hash()))
    return CommitCertificate(
        height,
        round_,
        block.hash(),
        CommitCertificate.bitmap_for([0], 1),
        bls.aggregate_signatures([seal]),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--blocks", type=int, default=BLOCKS)
    parser.add_argument("--warmup", type=int, default=WARMUP)
    parser.add_argument("--profile", action="store_true")
    options = parser.parse_args()
    blocks = options.blocks
    warmup = options.warmup
    if blocks < 1 or warmup < 0:
        parser.error("--blocks must be at least 1 and --warmup at least 0")
    rng = random.Random(7)

    started = time.perf_counter()
    keys = [
        ed25519.PrivateKey.from_seed(index.to_bytes(32, "big"))
        for index in range(min(ACCOUNTS, (warmup + blocks) * BLOCK_TXS))
    ]
    addresses = [Address.from_public_key(key.public_key) for key in keys]
    addresses += [Address(rng.randbytes(20)) for _ in range(ACCOUNTS - len(addresses))]
    document, proposer, bls_key = genesis(addresses)
    print(f"keys and genesis document: {time.perf_counter() - started:.1f} s")

    with tempfile.TemporaryDirectory() as directory:
        begun = time.perf_counter()
        store = Store.open(Path(directory) / "ledger", document)
        print(
            f"genesis of {ACCOUNTS} accounts committed: {time.perf_counter() - begun:.1f} s, "
            f"{store.file_bytes() / 1e6:.1f} MB"
        )
        bytes_genesis = store.file_bytes()
        # A node runs with these collector settings (metanode.node.collector); without them
        # the collector's full passes over this script's 100,000 keys and addresses would be
        # measured as admission and apply time.
        tune_for_node()

        def propose(
            state: LedgerState,
            txs: list[Transaction],
            verified: Container[bytes],
            last_block: Block | None,
        ) -> Proposal:
            """The next block of all `txs`, as the lone validator proposes it."""
            proposal = build_block(
                state,
                txs,
                timestamp_ms=document.genesis_time_ms + 1_000 * (state.height + 1),
                proposer=proposer,
                verified=verified,
                last_certificate=None if last_block is None else certificate(last_block, bls_key),
            )
            assert len(proposal.block.txs) == BLOCK_TXS and not proposal.dropped
            return proposal

        last_block: Block | None = None
        for index in range(warmup):
            txs = signed_block(keys, addresses, index, rng)
            # Signed here, as a proposer's mempool verified them at admission.
            verified = frozenset(tx.hash() for tx in txs)
            proposal = propose(store.state(), txs, verified, last_block)
            store.commit(proposal.changes)
            last_block = proposal.block
            if (index + 1) % WARMUP_REPORT_BLOCKS == 0 or index + 1 == warmup:
                print(
                    f"warm-up block {index + 1}: file {store.file_bytes() / 1e6:.1f} MB, "
                    f"free list {store.table_pages()['free'] * 4096 / 1e6:.1f} MB, "
                    f"{time.perf_counter() - started:.1f} s"
                )

        raws = [
            [tx.encode() for tx in signed_block(keys, addresses, warmup + block, rng)]
            for block in range(blocks)
        ]
        print(f"signed {blocks * BLOCK_TXS} transfers: {time.perf_counter() - started:.1f} s")
        pool = Pool(CHAIN)
        admission_seconds = 0.0
        apply_seconds = 0.0
        apply_cpu_seconds = 0.0
        commit_cpu_seconds = 0.0
        decode_seconds = 0.0
        stored = 0
        bytes_start = store.file_bytes()
        pages_start = store.table_pages()
        profiler = None
        if options.profile:
            from pyinstrument import Profiler  # noqa: PLC0415 - only when profiling

            profiler = Profiler()
        for block_raws in raws:
            state = store.state()
            view = AdmissionView(state.reader)
            begun = time.perf_counter()
            admissions = pool.admit_batch(block_raws, view, state.height + 1)
            admission_seconds += time.perf_counter() - begun
            refused = [a.reason for a in admissions if not a.admitted]
            assert not refused, refused[:3]
            txs = pool.reap(BLOCK_TXS, types_constants.block_bytes_max - 4096)
            verified = pool.verified_hashes()
            proposal = propose(state, txs, verified, last_block)
            last_block = proposal.block
            encoded = proposal.block.encode()
            begun = time.perf_counter()
            decoded = Block.decode(encoded)
            decode_seconds += time.perf_counter() - begun
            assert decoded == proposal.block
            if profiler is not None:
                profiler.start()
            begun, begun_cpu = time.perf_counter(), time.process_time()
            changes = apply_block(state, proposal.block, verified=verified)
            executed_cpu = time.process_time()
            store.commit(changes)
            apply_seconds += time.perf_counter() - begun
            apply_cpu_seconds += time.process_time() - begun_cpu
            commit_cpu_seconds += time.process_time() - executed_cpu
            if profiler is not None:
                profiler.stop()
            assert all(receipt.code == 0 for receipt in changes.receipts)
            stored += len(proposal.block.txs)
            after = store.state()
            pool.remove_committed(proposal.block.txs, AdmissionView(after.reader), after.height)
            print(
                f"block {after.height}: {len(proposal.block.txs)} transfers, "
                f"file {store.file_bytes() / 1e6:.1f} MB"
            )
        growth = store.file_bytes() - bytes_start
        growth_all = store.file_bytes() - bytes_genesis
        pages_end = store.table_pages()
        for name, pages in pages_end.items():
            added = (pages - pages_start[name]) * 4096 / stored
            print(f"table {name}: {pages * 4096 / 1e6:.1f} MB, {added:+.0f} B a transfer counted")
        data_growth = sum(
            (pages - pages_start[name]) * 4096
            for name, pages in pages_end.items()
            if name != "free"
        )
        store.close()
    if profiler is not None:
        print(profiler.output_text(unicode=False, color=False))
    admission_tps = stored / admission_seconds
    apply_tps = stored / apply_seconds
    print(
        f"apply CPU per transfer: {1e6 * (apply_cpu_seconds - commit_cpu_seconds) / stored:.1f} µs "
        f"apply_block, {1e6 * commit_cpu_seconds / stored:.1f} µs Store.commit"
    )
    total = (warmup + blocks) * BLOCK_TXS
    print(
        f"bytes_per_transfer from genesis (all {warmup + blocks} blocks): {growth_all / total:.0f}"
    )
    print(
        f"admission_tps={admission_tps:.0f} apply_tps={apply_tps:.0f} "
        f"bytes_per_transfer={growth / stored:.0f} "
        f"data_bytes_per_transfer={data_growth / stored:.0f} "
        f"block_decode_tps={stored / decode_seconds:.0f} "
        f"apply_cpu_tps={stored / apply_cpu_seconds:.0f}"
    )


if __name__ == "__main__":
    main()
