"""One rule for every command: amounts in whole coins (exact, both ways), `--node` in every
form a person has in hand, and exit codes by kind of error."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metanode.cli import output
from metanode.cli.wallet import GatewayError, gateway_base
from metanode.errors import ConfigError, DecodeError, KeystoreError


def test_amounts_read_as_whole_coins_with_their_unit() -> None:
    assert output.tokens(100 * 10**9, "FLX") == "100 FLX"
    assert output.tokens(2_500_000_000, "FLX") == "2.5 FLX"
    assert output.tokens(1, "NEX") == "0.000000001 NEX"
    assert output.tokens(0, "GEN") == "0 GEN"
    assert output.coins(100_000 * 10**9 + 10) == "100000.00000001"


@given(st.integers(min_value=0, max_value=2**64))
def test_coins_and_parse_coins_are_exact_inverses(base_units: int) -> None:
    assert output.parse_coins(output.coins(base_units)) == base_units


@pytest.mark.parametrize(
    "text", ["", ".5", "1e9", "-1", "1.0000000001", "1,5", "0x10", "²", "1.²", "١"]
)
def test_an_amount_that_is_not_coins_is_a_usage_error(text: str) -> None:
    with pytest.raises(ConfigError, match="expected coins"):
        output.parse_coins(text)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("x"), output.USAGE),
        (DecodeError("bad_address_checksum", "x"), output.USAGE),
        (KeystoreError("x"), output.FAILED),
        (GatewayError("x"), output.FAILED),
    ],
)
def test_exit_codes_by_kind_of_error(error: Exception, code: int) -> None:
    assert output.exit_code(error) == code  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("given_as", "base"),
    [
        ("127.0.0.1:8601", "http://127.0.0.1:8601"),
        ("localhost:8601", "http://localhost:8601"),
        ("http://127.0.0.1:8601", "http://127.0.0.1:8601"),
        ("https://node.example/", "https://node.example"),
        ("https://node.example:8443/api/v1", "https://node.example:8443"),
        ("http://127.0.0.1:8601/api/v1", "http://127.0.0.1:8601"),  # what `up` prints
        ("http://127.0.0.1:8601/api/v1/", "http://127.0.0.1:8601"),
        (" http://[::1]:8601/api/v1 ", "http://[::1]:8601"),
    ],
)
def test_node_takes_host_port_a_base_url_and_the_url_up_prints(given_as: str, base: str) -> None:
    assert gateway_base(given_as) == base
    # the request URL httpx builds from it, as every command does
    url = httpx.URL(f"{gateway_base(given_as)}/api/v1/status")
    assert url.path == "/api/v1/status" and url.netloc == httpx.URL(base).netloc


@pytest.mark.parametrize(
    "given_as",
    [
        "127.0.0.1",  # no port
        "ftp://127.0.0.1:8601",
        "http://127.0.0.1:8601/api/v2",
        "http://127.0.0.1:8601/api/v1/status",
        "http://127.0.0.1:port",
        "http://user@127.0.0.1:8601",
        "http://127.0.0.1:8601/?x=1",
        "",
    ],
)
def test_any_other_node_is_a_usage_error_naming_the_accepted_forms(given_as: str) -> None:
    with pytest.raises(ConfigError, match="host:port, http://host:port or the gateway URL"):
        gateway_base(given_as)
