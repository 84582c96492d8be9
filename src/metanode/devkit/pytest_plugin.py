"""A pytest plugin for testing apps against a real dev chain (docs/devloop.md).

    pytest -p metanode.devkit.pytest_plugin

or, in a conftest.py: `pytest_plugins = ["metanode.devkit.pytest_plugin"]` (the root one).

Fixtures:
- `dev_chain` (session): one dev chain process (`metanode dev up`, `metanode.devkit.chain`)
  for the whole run, in pytest's temporary directory, stopped at the end;
- `chain` (each test): the same chain, snapshotted before the test and reverted to it after,
  so each test starts from the same state whatever the others did;
- `dev_key`: the funded dev account `dev0`'s key.

Assertions on a call (`chain.call(...)` returns a `CallResult`): `assert_ok(result,
fuel_max=…)` says what went wrong in words (the chain's refusal code, the app's outcome, the
fuel used over the bound). Replaying a receipt against its bundle is `bpi replay`'s job: the
gateway does not serve bundles, so no helper here claims to replay.

Options: `--dev-chain-accounts N` (funded dev accounts of a new chain, default 10),
`--dev-chain-block-interval-ms N` (default 0: blocks only when transactions arrive).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from metanode.crypto import ed25519
from metanode.docklock.cage import OK

from .chain import CallResult, DevChain


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("metanode", "Metanode dev chain")
    group.addoption(
        "--dev-chain-accounts", type=int, default=10, help="funded dev accounts (default 10)"
    )
    group.addoption(
        "--dev-chain-block-interval-ms",
        type=int,
        default=0,
        help="an empty block this long after the last when idle (default 0: never)",
    )


@pytest.fixture(scope="session")
def dev_chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DevChain]:
    """One dev chain process for the session."""
    options = request.config.option
    chain = DevChain(
        tmp_path_factory.mktemp("metanode-dev-chain") / "home",
        accounts=options.dev_chain_accounts,
        block_interval_ms=options.dev_chain_block_interval_ms,
    )
    with chain:
        yield chain


@pytest.fixture
def chain(dev_chain: DevChain) -> Iterator[DevChain]:
    """The session's chain, reverted after the test to the state it started from."""
    taken = dev_chain.snapshot()
    yield dev_chain
    dev_chain.revert(taken, keep=False)  # consumed: a long suite holds no snapshot per test


@pytest.fixture
def dev_key(dev_chain: DevChain) -> ed25519.PrivateKey:
    return dev_chain.key("dev0")


def assert_ok(result: CallResult, *, fuel_max: int | None = None) -> None:
    """The call was committed, its app ran to its end, and (if given) within `fuel_max`."""
    receipt = result.record.get("receipt") or {}
    assert result.record["ok"], f"the chain refused the call: {receipt.get('code_name')}"
    assert result.receipt is not None, "the call has no executor receipt"
    assert result.receipt["outcome"] == OK, f"the app ended with {result.receipt['outcome']!r}"
    if fuel_max is not None:
        assert result.fuel_used <= fuel_max, f"fuel used {result.fuel_used} > {fuel_max}"
