"""privacy messages and their stateless checks (the message types live in `metanode.types`;
their decoders bound the payloads' sizes)."""

from __future__ import annotations

from metanode.state.codes import OK
from metanode.state.identity.records import did_id
from metanode.state.privacy import errors
from metanode.state.registry.records import IdentityLevel
from metanode.types import ProveKyc, PublishZkIssuer

MESSAGES = (ProveKyc, PublishZkIssuer)
# An age bound beyond any human life is a mistake, not a statement.
AGE_MAX = 150


def check_prove(message: ProveKyc) -> int:
    if did_id(message.issuer) is None:
        return errors.ISSUER_INVALID
    if (
        not IdentityLevel.BASIC <= message.level_min <= IdentityLevel.FULL
        or message.age_min > AGE_MAX
    ):
        return errors.STATEMENT_INVALID
    return OK


def check_publish(message: PublishZkIssuer) -> int:
    return OK if did_id(message.issuer) is not None else errors.ISSUER_INVALID
