"""py-arkworks-bls12381 against blspy, best of N, on the operations consensus uses.

Last line: arkworks_verify_us=… blspy_verify_us=… arkworks_fav100_us=… blspy_fav100_us=…
"""

from __future__ import annotations

import time
from collections.abc import Callable

import blspy

from metanode.crypto import bls

ROUNDS = 5


def best_us(function: Callable[[], object], number: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(number):
            function()
        best = min(best, (time.perf_counter() - started) / number)
    return best * 1e6


def main() -> None:
    message = b"m" * 64
    ark_keys = [bls.PrivateKey.keygen(bytes([index + 1]) * 32) for index in range(100)]
    ark_signature = ark_keys[0].sign(message)
    ark_public = [key.public_key for key in ark_keys]
    ark_signatures = [key.sign(message) for key in ark_keys]
    ark_aggregate = bls.aggregate_signatures(ark_signatures)
    cache = bls.KeyCache()
    figures = {
        "arkworks_sign_us": best_us(lambda: ark_keys[0].sign(message), 20),
        "arkworks_verify_us": best_us(
            lambda: bls.verify(ark_public[0], message, ark_signature), 20
        ),
        "arkworks_aggregate100_us": best_us(lambda: bls.aggregate_signatures(ark_signatures), 5),
        "arkworks_fav100_us": best_us(
            lambda: bls.fast_aggregate_verify(ark_public, message, ark_aggregate), 5
        ),
        "arkworks_fav100_cached_us": best_us(
            lambda: cache.fast_aggregate_verify(ark_public, message, ark_aggregate), 5
        ),
        "arkworks_key_decode_us": best_us(lambda: bls.key_validate(ark_public[0]), 100),
    }
    scheme = blspy.PopSchemeMPL
    blspy_keys = [scheme.key_gen(bytes([index + 1]) * 32) for index in range(100)]
    blspy_public = [key.get_g1() for key in blspy_keys]
    blspy_signatures = [scheme.sign(key, message) for key in blspy_keys]
    blspy_aggregate = scheme.aggregate(blspy_signatures)
    public_bytes = bytes(blspy_public[0])
    figures |= {
        "blspy_sign_us": best_us(lambda: scheme.sign(blspy_keys[0], message), 20),
        "blspy_verify_us": best_us(
            lambda: scheme.verify(blspy_public[0], message, blspy_signatures[0]), 20
        ),
        "blspy_aggregate100_us": best_us(lambda: scheme.aggregate(blspy_signatures), 5),
        "blspy_fav100_us": best_us(
            lambda: scheme.fast_aggregate_verify(blspy_public, message, blspy_aggregate), 5
        ),
        "blspy_key_decode_us": best_us(lambda: blspy.G1Element.from_bytes(public_bytes), 100),
    }
    for name, value in figures.items():
        print(f"{name:28s} {value:10.0f}")
    print(
        " ".join(
            f"{name}={figures[name]:.0f}"
            for name in (
                "arkworks_verify_us",
                "blspy_verify_us",
                "arkworks_fav100_us",
                "blspy_fav100_us",
            )
        )
    )


if __name__ == "__main__":
    main()
