"""The example apps tested as an app developer tests theirs: against a real dev chain, with the
plugin's fixtures (each test starts from the same chain state), from the repository's root:

    pytest -p metanode.devkit.pytest_plugin examples/tests
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from metanode.crypto import ed25519
from metanode.devkit.chain import DevChain
from metanode.devkit.pytest_plugin import assert_ok

EXAMPLES = Path(__file__).resolve().parent.parent
# Fuel a counter increment stays within (it uses a few dozen instructions and host calls).
COUNTER_FUEL_MAX = 10_000
DAY_S = 86_400


def count(result_output: bytes) -> int:
    return int.from_bytes(result_output, "little")


def test_counter_counts_from_one(chain: DevChain, dev_key: ed25519.PrivateKey) -> None:
    app = chain.deploy(dev_key, EXAMPLES / "counter.wat")
    for expected in (1, 2, 3):
        result = chain.call(dev_key, app, "increment")
        assert_ok(result, fuel_max=COUNTER_FUEL_MAX)
        assert count(result.output) == expected


def test_each_test_starts_from_the_same_state(chain: DevChain, dev_key: ed25519.PrivateKey) -> None:
    # The test above counted to 3 on the same chain; its state was reverted after it.
    app = chain.deploy(dev_key, EXAMPLES / "counter.wat")
    assert count(chain.call(dev_key, app, "increment").output) == 1


def test_kv_puts_gets_and_deletes(chain: DevChain, dev_key: ed25519.PrivateKey) -> None:
    app = chain.deploy(dev_key, EXAMPLES / "kv.wat")
    assert_ok(chain.call(dev_key, app, "put", b"colour=green"))
    got = chain.call(dev_key, app, "get", b"colour")
    assert_ok(got)
    assert got.output == b"green"
    assert_ok(chain.call(dev_key, app, "delete", b"colour"))
    assert chain.call(dev_key, app, "get", b"colour").output == b""


def test_hashchain_links_depend_on_every_earlier_one(
    chain: DevChain, dev_key: ed25519.PrivateKey
) -> None:
    app = chain.deploy(dev_key, EXAMPLES / "hashchain.wat")
    before = chain.snapshot()  # a test may take snapshots of its own
    after_a_and_b = [chain.call(dev_key, app, "extend", word).output for word in (b"a", b"b")]
    chain.revert(before)
    after_b = chain.call(dev_key, app, "extend", b"b").output
    assert len(after_b) == 8 and after_b != after_a_and_b[1]


def test_the_clock_app_sees_time_travel(chain: DevChain, dev_key: ed25519.PrivateKey) -> None:
    app = chain.deploy(dev_key, EXAMPLES / "clock.wat")
    chain.advance(DAY_S)
    later = count(chain.call(dev_key, app, "now").output)
    assert later >= (time.time() + DAY_S - 60) * 1000


def test_a_trapping_call_fails_its_assertion(chain: DevChain, dev_key: ed25519.PrivateKey) -> None:
    app = chain.deploy(dev_key, EXAMPLES / "escape.wat")
    result = chain.call(dev_key, app, "recurse")
    with pytest.raises(AssertionError, match="the app ended with"):
        assert_ok(result)


@pytest.mark.slow
def test_two_hundred_counter_calls(chain: DevChain, dev_key: ed25519.PrivateKey) -> None:
    app = chain.deploy(dev_key, EXAMPLES / "counter.wat")
    for expected in range(1, 201):
        result = chain.call(dev_key, app, "increment")
        assert result.ok and count(result.output) == expected
