"""Crypto and codec timings on this machine, best of N runs each.

Last line (exactly these keys):
ed25519_verify_us=… bls_verify_us=… bls_fav100_us=… vrf_prove_us=… vrf_verify_us=…
sha256_200b_us=… encode_us=… decode_us=… hybrid_handshake_ms=… link_seal_tx_us=…
encode/decode are of a 200-byte transfer-like object through metanode.codec; bls_fav100 is a
fast-aggregate-verify of 100 signers with the keys decoded once (bls.KeyCache), as consensus
verifies a commit certificate. hybrid_handshake_ms is one whole X25519 + ML-KEM-768 link
handshake, both sides (net/hybrid.py: key generation, encapsulation, both confirmations, and
both ML-DSA-65 signatures of the transcript made and verified);
link_seal_tx_us is what sealing and opening a TXS frame of 1,000 transfer-sized items costs per
transaction on a hybrid link, the part of a link's per-transaction cost that classical links
do not pay.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from metanode.codec import decode, encode, tags
from metanode.crypto import bls, ed25519, vrf
from metanode.crypto.hashing import tagged_hash
from metanode.net import hybrid
from metanode.net.frames import Txs, encode_frame
from metanode.types import Address

ROUNDS = 7


def best_us(function: Callable[[], object], number: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(number):
            function()
        best = min(best, (time.perf_counter() - started) / number)
    return best * 1e6


def main() -> None:
    message = b"m" * 200
    signer = ed25519.PrivateKey.from_seed(bytes(range(32)))
    signature = signer.sign(message)
    ed_verify = best_us(lambda: ed25519.verify(signer.public_key, message, signature), 500)

    bls_keys = [bls.PrivateKey.keygen(bytes([index]) * 32) for index in range(100)]
    bls_signature = bls_keys[0].sign(message)
    bls_verify = best_us(lambda: bls.verify(bls_keys[0].public_key, message, bls_signature), 20)
    public_keys = [key.public_key for key in bls_keys]
    aggregate = bls.aggregate_signatures([key.sign(message) for key in bls_keys])
    # Consensus verifies certificates of a known validator set, whose keys it decodes once.
    cache = bls.KeyCache()
    fav100 = best_us(lambda: cache.fast_aggregate_verify(public_keys, message, aggregate), 5)
    fav100_cold = best_us(lambda: bls.fast_aggregate_verify(public_keys, message, aggregate), 3)

    vrf_seed = bytes(range(32, 64))
    vrf_public = ed25519.PrivateKey.from_seed(vrf_seed).public_key
    proof = vrf.prove(vrf_seed, message)
    vrf_prove = best_us(lambda: vrf.prove(vrf_seed, message), 100)
    vrf_verify = best_us(lambda: vrf.verify(vrf_public, message, proof), 100)

    sha = best_us(lambda: tagged_hash(tags.TX, message), 20_000)
    transfer_like = [
        1,
        "metanode-dev",
        bytes(32),
        123_456,
        1_000_000,
        987_654,
        [1, bytes(20), 10**12, 3],
        bytes(64),
        bytes(30),
    ]
    encoded = encode(transfer_like)
    encode_us = best_us(lambda: encode(transfer_like), 20_000)
    decode_us = best_us(lambda: decode(encoded), 20_000)

    dialler_id, listener_id = Address(bytes(20)), Address(b"\x01" * 20)
    signers = [hybrid.node_signer(bytes([side]) * 32) for side in (1, 2)]

    def handshake() -> hybrid.Session:
        # Both sides pinned: each verifies the other's ML-DSA signature, as between validators
        # whose identities record their keys.
        dialler = hybrid.Dialler(dialler_id, listener_id, signers[0], signers[1].public_key)
        answer, pending = hybrid.listen(
            listener_id, dialler_id, dialler.offer, signers[1], signers[0].public_key
        )
        session, confirmation = dialler.finish(answer)
        pending.confirm(confirmation)
        return session

    handshake_ms = best_us(handshake, 50) / 1000
    sender = handshake()
    receiver = hybrid.Session(sender.receive_key, sender.send_key)  # the other side's view
    frame = encode_frame(Txs(tuple(bytes(len(encoded)) for _ in range(1_000))))

    def seal_and_open() -> None:
        receiver.received = sender.sent
        receiver.open(sender.seal(frame))

    seal_tx = best_us(seal_and_open, 200) / 1_000

    print(f"transfer-like object: {len(encoded)} bytes")
    print(f"bls fast-aggregate-verify of 100, keys decoded every time: {fav100_cold:.0f} us")
    print(
        f"ed25519_verify_us={ed_verify:.1f} bls_verify_us={bls_verify:.0f} "
        f"bls_fav100_us={fav100:.0f} vrf_prove_us={vrf_prove:.0f} vrf_verify_us={vrf_verify:.0f} "
        f"sha256_200b_us={sha:.2f} encode_us={encode_us:.2f} decode_us={decode_us:.2f} "
        f"hybrid_handshake_ms={handshake_ms:.2f} link_seal_tx_us={seal_tx:.3f}"
    )


if __name__ == "__main__":
    main()
