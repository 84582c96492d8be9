"""schemathesis against a running node's `/openapi.json`: generated requests to every operation,
with every check schemathesis has (no 5xx, declared status, content type, schema, headers such
as a 405's `Allow`, schema-invalid input refused, schema-valid input accepted).

What JSON Schema cannot say, the document names by `format`: an address's bech32m checksum
(`metanode-address`), a transaction's signature (`metanode-tx`) and a DID's 20-byte id
(`metanode-did`). Here both formats get
generators of real values: addresses of random 20 bytes, and transfers signed by funded dev
accounts, each at a nonce its account has not signed before, so that every one may be admitted.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi import unregister_string_format
from schemathesis.specs.openapi.checks import positive_data_acceptance

from metanode.api import schemas
from metanode.state.identity.records import did_of_id
from metanode.types import Address
from tests.conftest import examples

from .cluster import Cluster, running

EXAMPLES = 40
# The transfers' senders, in turn (fresh_transfers). A thorough run draws some 300 transfers,
# so each sender signs a few nonces: far inside the mempool's nonce_gap_max of 64, even were
# none of them sent.
ACCOUNTS = 64


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    home = Path(tmp_path_factory.mktemp("contract")) / "net"
    with running(home, validators=1, accounts=ACCOUNTS) as network:
        network.wait_height(2, timeout_s=60)
        yield network


def addresses() -> st.SearchStrategy[str]:
    return st.binary(min_size=20, max_size=20).map(lambda raw: str(Address(raw)))


def dids() -> st.SearchStrategy[str]:
    return st.binary(min_size=20, max_size=20).map(did_of_id)


def fresh_transfers(cluster: Cluster) -> st.SearchStrategy[str]:
    """Hex of transfers signed by the dev accounts in turn, each at the account's next nonce
    not yet signed: no account and nonce twice, however many transfers hypothesis draws.

    What hypothesis draws (recipient, amount) never depends on the signing: the strategy never
    fails, and a replayed example draws as its first run did. A replay signs afresh, since the
    same bytes sent again would be refused as a duplicate. A transfer drawn but never sent
    leaves a nonce gap, within which the next one is admitted as queued (still a 202)."""
    keys = cluster.dev_keys()
    turns = itertools.count()

    def sign(recipient: str, amount: int) -> str:
        nonce, index = divmod(next(turns), len(keys))
        signed = Cluster.transfer(keys[index], nonce, Address.parse(recipient), amount)
        return signed.encode().hex()

    return st.builds(sign, addresses(), st.integers(min_value=1, max_value=10**9))


@pytest.fixture
def formats(cluster: Cluster) -> Iterator[None]:
    schemathesis.openapi.format(schemas.ADDRESS_FORMAT, addresses())
    schemathesis.openapi.format(schemas.TX_FORMAT, fresh_transfers(cluster))
    schemathesis.openapi.format(schemas.DID_FORMAT, dids())
    yield
    unregister_string_format(schemas.DID_FORMAT)
    unregister_string_format(schemas.ADDRESS_FORMAT)
    unregister_string_format(schemas.TX_FORMAT)


# Light-client attack evidence is valid only for a real fork of this chain, signed by its
# validators: no generator makes one, and the node refuses every other with a typed 400 (the
# real fork's 202 is tests/light/test_network.py's).
# A shadow call passes the door only with a request signed by a registered shadow's service key
# within a user's grant on chain (tests/shadow/test_web2_service.py); every other is a typed
# 400 or 403. An SD-JWT presentation verifies only if an authority of this chain signed it;
# every other is a typed 422 (the valid one's 200 is tests/node/test_disclosure_api.py's).
excluded = {
    "POST /api/v1/evidence/light-attack": [positive_data_acceptance],
    "POST /api/v1/shadows/{domain}/calls": [positive_data_acceptance],
    "POST /api/v1/disclosures/verify": [positive_data_acceptance],
}


@pytest.mark.usefixtures("formats")
def test_every_operation_answers_within_its_contract(cluster: Cluster) -> None:
    schema = schemathesis.openapi.from_url(cluster.url("v0") + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17  # registry, peers, genesis, credentials and notary reads too
    failures: dict[str, str] = {}
    for operation in operations:
        # Driven through hypothesis directly: schemathesis' pytest plugin does not load under
        # pytest 9 (it reads a private attribute pytest removed).
        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples(EXAMPLES),
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(excluded_checks=excluded.get(case.operation.label, []))

        try:
            check()
        except Exception as error:  # every operation is tried; all failures are reported
            failures[operation.label] = str(error)
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_a_wrong_method_is_answered_405_with_allow(cluster: Cluster) -> None:
    answer = cluster.client.delete(cluster.url("v0") + "/api/v1/status")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"
    assert answer.headers["content-type"] == "application/problem+json"
