"""Light client timings on this machine (docs/light.md), over real BLS-signed headers.

    python bench/light.py [--validators 4] [--headers 200] [--skip 10000]

- sequential: `--headers` adjacent headers verified one by one (one aggregate BLS check each;
  the certificates are signed before the clock starts);
- skipping: a sync from height 1 to 1 + `--skip` with no validator-set change, through
  bisection as the client runs it; it needs one certificate, which the line shows;
- proof: one account proof of a state tree of 10,000 keys checked against a header.
Last line: `headers_verified_per_s=… skip_verify_10000_ms=… proof_verify_us=…
skip_certificates=…` (the skip key names the distance skipped).
"""

from __future__ import annotations

import argparse
import time

from metanode.light.client import LightClient
from metanode.light.proofs import StateProof, verify_state
from metanode.light.verifier import LightBlock, TrustOptions, Verifier
from metanode.state import tree
from metanode.testing.signed_chain import SignedChain, member
from metanode.types import Address, BlockHeader

CHAIN = "bench-light"
TREE_KEYS = 10_000
PROOF_ROUNDS = 2_000


class Memory:
    """The whole chain as a source; the client asks it only for light blocks."""

    name = "memory"

    def __init__(self, chain: SignedChain) -> None:
        self.chain = chain
        self.served = 0

    def light_block(self, height: int | None) -> LightBlock:
        at = len(self.chain.headers) if height is None else height
        self.served += 1
        return block(self.chain, at)


def block(chain: SignedChain, height: int) -> LightBlock:
    header = chain.header(height)
    return LightBlock(header, chain.certificate(header), chain.validators(height))


def sequential(validators: int, headers: int) -> float:
    chain = SignedChain(CHAIN, [(1, [member(f"v{i}") for i in range(validators)])])
    chain.grow(headers + 1)
    blocks = [block(chain, height) for height in range(2, headers + 2)]
    client = LightClient(Verifier(CHAIN), block(chain, 1), Memory(chain))  # type: ignore[arg-type]
    now_ms = chain.header(headers + 1).timestamp_ms
    started = time.perf_counter()
    client.sequential(blocks, now_ms)
    return headers / (time.perf_counter() - started)


def skipping(validators: int, distance: int) -> tuple[float, int]:
    chain = SignedChain(CHAIN, [(1, [member(f"v{i}") for i in range(validators)])])
    chain.grow(distance + 1)
    source = Memory(chain)
    block(chain, distance + 1)  # its certificate is signed (and kept) before the clock starts
    client = LightClient(Verifier(CHAIN), block(chain, 1), source)  # type: ignore[arg-type]
    now_ms = chain.header(distance + 1).timestamp_ms
    started = time.perf_counter()
    report = client.sync(now_ms)
    elapsed_ms = (time.perf_counter() - started) * 1e3
    assert report.height == distance + 1
    return elapsed_ms, report.certificates_verified


def proof_check() -> float:
    writes = [(index.to_bytes(8, "big"), b"value-%d" % index) for index in range(TREE_KEYS)]
    nodes = tree.MemoryNodes()
    update = tree.update(nodes, None, 1, writes)
    nodes.apply(update)
    key, value = writes[TREE_KEYS // 2]
    proof = StateProof(1, key, value, tree.prove(nodes, update.root, key))
    header = BlockHeader(
        CHAIN, 1, 0, 0, bytes(32), bytes(32), update.root, bytes(32), bytes(32), bytes(32),
        Address(bytes(20)), bytes(80), bytes(32),
    )  # fmt: skip
    started = time.perf_counter()
    for _ in range(PROOF_ROUNDS):
        verify_state(header, proof)
    return (time.perf_counter() - started) / PROOF_ROUNDS * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--validators", type=int, default=4)
    parser.add_argument("--headers", type=int, default=200)
    parser.add_argument("--skip", type=int, default=10_000)
    arguments = parser.parse_args()
    if arguments.skip > TrustOptions().period_blocks:
        parser.error(f"--skip is at most the trusting period, {TrustOptions().period_blocks}")
    per_s = sequential(arguments.validators, arguments.headers)
    print(f"sequential: {arguments.headers} headers of {arguments.validators} validators")
    skip_ms, certificates = skipping(arguments.validators, arguments.skip)
    print(f"skipping: {arguments.skip} heights with {certificates} certificate(s)")
    proof_us = proof_check()
    print(
        f"headers_verified_per_s={per_s:.1f} skip_verify_{arguments.skip}_ms={skip_ms:.2f} "
        f"proof_verify_us={proof_us:.1f} skip_certificates={certificates}"
    )


if __name__ == "__main__":
    main()
