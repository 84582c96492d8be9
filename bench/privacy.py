"""Privacy timings on this machine: a zero-knowledge KYC proof's verification (what every
validator runs for a `ProveKyc`: parse, statement check, AnonCreds verification with
non-revocation) and an SD-JWT presentation's (what the gateway and the cage's host call run),
best of N rounds each.

    python bench/privacy.py [--rounds N] [--fresh-issuer]

The issuer's CL key is the test authority's (tests/state/data/zk-issuer/) unless
`--fresh-issuer` makes a new one (seconds to a minute: two safe primes; its time is printed).
Last line (exactly these keys):
zk_verify_ms=… sd_verify_us=… zk_prove_ms=… zk_proof_bytes=… sd_present_us=…
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from metanode.crypto import ed25519, sd_jwt, zk

FIXTURE = Path(__file__).resolve().parent.parent / "tests" / "state" / "data" / "zk-issuer"
ISSUER = "did:metanode:3CyzAyrBwvu1QEk3vAk6RkX6aBdM"  # the fixture's (tests/state/test_privacy.py)
NONCE = 1_208_925_819_614_629_174_706_175  # any 80-bit nonce
TIMESTAMP = 1_780_000_000


def best(function: Callable[[], object], rounds: int) -> float:
    """The fastest of `rounds` calls, in seconds."""
    fastest = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        fastest = min(fastest, time.perf_counter() - started)
    return fastest


def issuer(fresh: bool, directory: Path) -> tuple[zk.Definitions, zk.IssuerSecrets, Path]:
    if fresh:
        started = time.perf_counter()
        definitions, secrets = zk.setup_issuer(ISSUER, 32, directory)
        print(
            f"issuer set-up (CL key and revocation registry): {time.perf_counter() - started:.1f} s"
        )
        (tails,) = directory.iterdir()
        return definitions, secrets, tails
    stored = json.loads((FIXTURE / "secrets.json").read_text())
    secrets = zk.IssuerSecrets(
        json.dumps(stored["credentialDefinitionPrivate"]),
        json.dumps(stored["keyCorrectnessProof"]),
        json.dumps(stored["revocationRegistryPrivate"]),
    )
    definitions = zk.parse_definitions((FIXTURE / "definitions.json").read_bytes(), ISSUER)
    (tails,) = (FIXTURE / "tails").iterdir()
    return definitions, secrets, tails


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--fresh-issuer", action="store_true")
    options = parser.parse_args()
    rounds = max(options.rounds, 1)

    with tempfile.TemporaryDirectory() as scratch:
        definitions, secrets, tails = issuer(options.fresh_issuer, Path(scratch))
        status = zk.status_list(definitions, secrets, [], TIMESTAMP)
        holder_secret = zk.link_secret()
        credential = zk.issue(definitions, secrets, status, holder_secret, 3, 19900115, 7)
        statement = zk.Statement(ISSUER, 2, 20080601)

        def prove() -> bytes:
            return zk.prove(credential, holder_secret, statement, NONCE, definitions, status, tails)

        proof = prove()
        listed = zk.parse_status_list(status, ISSUER)

        def verify_proof() -> None:
            presentation = zk.parse_presentation(proof)
            assert zk.verify(presentation, statement, NONCE, definitions, listed)

        zk_prove = best(prove, rounds)
        zk_verify = best(verify_proof, rounds)

    issuer_key = ed25519.PrivateKey(bytes(range(32)))
    holder_key = ed25519.PrivateKey(bytes(range(1, 33)))
    now = int(time.time()) + 60  # the holder's library stamps its Key Binding JWT with its clock
    attributes = {"kyc_level": "full", "birthdate": "1990-01-15", "country": "IN", "sub": "did:x"}
    claims = {"iss": "did:metanode:bank", "iat": now - 60, "exp": now + 3_600}
    issued = sd_jwt.issue(
        claims, attributes, issuer_key, "did:metanode:bank#key-1", holder_key.public_key
    )

    def present() -> str:
        return sd_jwt.present(issued, ["country", "kyc_level"], holder_key, "aud", "nonce")

    shown = present()

    def verify_disclosure() -> None:
        sd_jwt.verify(shown, issuer_key.public_key, now, "aud", "nonce")

    sd_rounds = rounds * 100
    sd_verify = best(verify_disclosure, sd_rounds)
    sd_present = best(present, sd_rounds)
    print(f"zero-knowledge proof: {len(proof)} bytes; SD-JWT presentation: {len(shown)} bytes")
    print(
        f"zk_verify_ms={zk_verify * 1e3:.1f} sd_verify_us={sd_verify * 1e6:.0f} "
        f"zk_prove_ms={zk_prove * 1e3:.1f} zk_proof_bytes={len(proof)} "
        f"sd_present_us={sd_present * 1e6:.0f}"
    )


if __name__ == "__main__":
    main()
