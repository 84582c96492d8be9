"""Write the test authority's AnonCreds KYC set-up (tests/state/data/zk-issuer/): the bank of
tests/state/test_identity.py (Wallet.of(3)) as issuer, 32 revocation entries. Its CL key takes
seconds to a minute to make (two safe primes), too long to make in every test run, so the
tests load this one; rerun this script to replace it:

    .venv/bin/python tools/zk_issuer_fixture.py
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.state.support import Wallet

from metanode.crypto import zk
from metanode.state.identity.records import did_of_key

HERE = Path(__file__).resolve().parent.parent / "tests" / "state" / "data" / "zk-issuer"
CAPACITY = 32


def main() -> None:
    issuer = did_of_key(Wallet.of(3).public_key)
    tails = HERE / "tails"
    definitions, secrets = zk.setup_issuer(issuer, CAPACITY, tails)
    (HERE / "definitions.json").write_bytes(definitions.to_json())
    (HERE / "secrets.json").write_text(
        json.dumps(
            {
                "credentialDefinitionPrivate": json.loads(secrets.credential_definition_private),
                "keyCorrectnessProof": json.loads(secrets.key_correctness_proof),
                "revocationRegistryPrivate": json.loads(secrets.revocation_registry_private),
            },
            sort_keys=True,
        )
    )


if __name__ == "__main__":
    main()
