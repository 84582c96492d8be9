"""Every module's named invariants in one list; tests run `check_all` after every block.

An invariant that fails raises `InvariantViolation` naming itself (`bank.supply_is_held: …`).
They scan whole tables, so they are for tests, checks and `metanode store check`, not for the
block path.
"""

from __future__ import annotations

from collections.abc import Callable

from metanode.state.apps import invariants as apps
from metanode.state.bank import invariants as bank
from metanode.state.billing import invariants as billing
from metanode.state.court import invariants as court
from metanode.state.faucet import invariants as faucet
from metanode.state.governance import invariants as governance
from metanode.state.identity import invariants as identity
from metanode.state.notary import invariants as notary
from metanode.state.policy import invariants as policy
from metanode.state.privacy import invariants as privacy
from metanode.state.registry import invariants as registry
from metanode.state.shadow import invariants as shadow
from metanode.state.staking import invariants as staking
from metanode.state.storage import invariants as storage
from metanode.state.view import StateReader

INVARIANTS: tuple[Callable[[StateReader], None], ...] = (
    *bank.INVARIANTS,
    *staking.INVARIANTS,
    *faucet.INVARIANTS,
    *registry.INVARIANTS,
    *identity.INVARIANTS,
    *governance.INVARIANTS,
    *apps.INVARIANTS,
    *notary.INVARIANTS,
    *billing.INVARIANTS,
    *court.INVARIANTS,
    *shadow.INVARIANTS,
    *policy.INVARIANTS,
    *privacy.INVARIANTS,
    *storage.INVARIANTS,
)


def check_all(reader: StateReader) -> None:
    for invariant in INVARIANTS:
        invariant(reader)
