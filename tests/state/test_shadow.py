"""shadow: a Web2 service's shadow identity bound to its domain and keys; a user's scoped,
expiring, revocable grant; the acting-as rule the gateway and shadow receipts apply."""

from __future__ import annotations

import pytest

from metanode.codec import decode, encode
from metanode.errors import NotBuiltError
from metanode.state.codes import OK
from metanode.state.genesis.state import export_genesis
from metanode.state.invariants import check_all
from metanode.state.shadow import errors, keys, queries
from metanode.state.shadow.rules import grant_blocks_max
from metanode.types import GrantShadow, RegisterShadow, ShadowScope
from metanode.types.messages import message_from_wire, message_to_wire
from tests.state.support import Wallet
from tests.state.test_apps import CALLER, COUNTER_ID, OWNER, Apps

SERVICE = Wallet.of(2)
DOMAIN = "shop.example.com"
KEYS = (b"\x11" * 32, b"\x22" * 32)
ALL_OF_COUNTER = (ShadowScope(COUNTER_ID),)


def registered() -> Apps:
    apps = Apps()
    assert apps.deploy() == OK
    assert apps.send(SERVICE, RegisterShadow(DOMAIN, *KEYS)) == OK
    return apps


def grant(apps: Apps, scopes: tuple[ShadowScope, ...], blocks: int = 10) -> int:
    expiry = apps.chain.state.height + 1 + blocks
    return apps.send(CALLER, GrantShadow(DOMAIN, scopes, expiry))


def acting(apps: Apps, function: str = "increment", height: int | None = None) -> int:
    at = apps.chain.state.height + 1 if height is None else height
    return queries.acting(apps.reader, DOMAIN, CALLER.address, COUNTER_ID, function, at)


def test_a_shadow_is_bound_to_its_domain_and_keys_and_only_its_owner_rotates_them() -> None:
    apps = registered()
    shadow = queries.shadow(apps.reader, DOMAIN)
    assert shadow is not None
    assert (shadow.owner, shadow.service_key, shadow.encryption_key) == (SERVICE.address, *KEYS)
    height = shadow.registered_height
    rotated = (b"\x33" * 32, b"\x44" * 32)
    assert apps.send(SERVICE, RegisterShadow(DOMAIN, *rotated)) == OK
    shadow = queries.shadow(apps.reader, DOMAIN)
    assert shadow is not None and (shadow.service_key, shadow.registered_height) == (
        rotated[0],
        height,
    )
    assert apps.send(OWNER, RegisterShadow(DOMAIN, *KEYS)) == errors.DOMAIN_TAKEN
    assert queries.shadow(apps.reader, DOMAIN) == shadow


@pytest.mark.parametrize(
    "domain",
    ["", "localhost", "Shop.example.com", "shop.example.com.", "-a.com", "a-.com", "a..com",
     "a_b.com", "é.com", ("a" * 64) + ".com"],
)  # fmt: skip
def test_a_malformed_domain_is_refused(domain: str) -> None:
    apps = Apps()
    assert apps.send(SERVICE, RegisterShadow(domain, *KEYS)) == errors.DOMAIN_INVALID
    assert queries.shadow(apps.reader, domain) is None


def test_a_grant_lets_the_shadow_act_within_its_scope_until_it_expires() -> None:
    apps = registered()
    assert acting(apps) == errors.GRANT_UNKNOWN
    assert grant(apps, (ShadowScope(COUNTER_ID, ("increment",)),), blocks=5) == OK
    record = queries.grant(apps.reader, CALLER.address, DOMAIN)
    assert record is not None
    assert acting(apps) == OK
    assert acting(apps, "reset") == errors.OUT_OF_SCOPE
    other_app = queries.acting(apps.reader, DOMAIN, CALLER.address, b"\x01" * 32, "increment", 1)
    assert other_app == errors.OUT_OF_SCOPE
    assert acting(apps, height=record.expiry_height - 1) == OK
    assert acting(apps, height=record.expiry_height) == errors.GRANT_EXPIRED
    # Another user's grant is not this one's.
    assert queries.acting(apps.reader, DOMAIN, OWNER.address, COUNTER_ID, "increment", 1) == (
        errors.GRANT_UNKNOWN
    )
    assert [shadow_id for shadow_id, _ in queries.grants_of(apps.reader, CALLER.address)] == [
        keys.shadow_id(DOMAIN)
    ]


def test_a_revoked_grant_no_longer_acts_and_revoking_twice_is_refused() -> None:
    apps = registered()
    assert grant(apps, ALL_OF_COUNTER) == OK
    assert acting(apps, "anything") == OK  # no functions named: all of the app's
    assert grant(apps, ()) == OK
    assert acting(apps) == errors.GRANT_UNKNOWN
    assert grant(apps, ()) == errors.GRANT_UNKNOWN
    check_all(apps.reader)


def test_grant_ladder_in_order_and_refusals_change_nothing() -> None:
    apps = registered()
    height = apps.chain.state.height + 1
    unknown = GrantShadow("other.example.com", ALL_OF_COUNTER, height + 5)
    assert apps.send(CALLER, unknown) == errors.SHADOW_UNKNOWN
    assert apps.send(CALLER, GrantShadow("BAD", ALL_OF_COUNTER, 0)) == errors.DOMAIN_INVALID
    height = apps.chain.state.height + 1
    assert apps.send(CALLER, GrantShadow(DOMAIN, ALL_OF_COUNTER, height)) == (
        errors.GRANT_EXPIRY_PASSED
    )
    too_far = GrantShadow(DOMAIN, ALL_OF_COUNTER, apps.chain.state.height + 2 + grant_blocks_max)
    assert apps.send(CALLER, too_far) == errors.GRANT_EXPIRY_TOO_FAR
    twice = (ShadowScope(COUNTER_ID), ShadowScope(COUNTER_ID, ("increment",)))
    assert grant(apps, twice) == errors.SCOPE_INVALID
    assert grant(apps, (ShadowScope(COUNTER_ID, ("increment", "increment")),)) == (
        errors.SCOPE_INVALID
    )
    assert grant(apps, (ShadowScope(b"\x05" * 32),)) == errors.SCOPE_INVALID  # no such app
    assert queries.grant(apps.reader, CALLER.address, DOMAIN) is None


def test_shadow_messages_round_trip_on_the_wire() -> None:
    for message in (
        RegisterShadow(DOMAIN, *KEYS),
        GrantShadow(DOMAIN, (ShadowScope(COUNTER_ID, ("increment",)),), 99),
        GrantShadow(DOMAIN, (), 0),
    ):
        assert message_from_wire(decode(encode(message_to_wire(message)))) == message


def test_a_state_with_shadows_is_not_exported_without_them() -> None:
    apps = Apps()
    export_genesis(apps.reader)  # nothing of the shadow registry yet
    assert apps.send(SERVICE, RegisterShadow(DOMAIN, *KEYS)) == OK
    with pytest.raises(NotBuiltError, match="shadows"):
        export_genesis(apps.reader)
