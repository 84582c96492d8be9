"""shadow messages and their stateless checks.

A domain is a DNS host name as a Web2 service serves it: lowercase ASCII labels of letters,
digits and inner hyphens, 1–63 bytes each, joined by dots, at most 253 bytes, at least two
labels. One spelling per name, so one shadow per domain (no case or trailing-dot twins).
"""

from __future__ import annotations

import re

from metanode.state.codes import OK
from metanode.state.shadow import errors
from metanode.types import GrantShadow, RegisterShadow

MESSAGES = (RegisterShadow, GrantShadow)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")


def check_domain(domain: str) -> int:
    if _DOMAIN.fullmatch(domain) is None:  # the decoder bounds its length (253 bytes)
        return errors.DOMAIN_INVALID
    return OK


def check_scopes(message: GrantShadow) -> int:
    """Each app once, each function once within it."""
    apps = [scope.app_id for scope in message.scopes]
    if len(set(apps)) != len(apps):
        return errors.SCOPE_INVALID
    if any(len(set(scope.functions)) != len(scope.functions) for scope in message.scopes):
        return errors.SCOPE_INVALID
    return OK


def check_register(message: RegisterShadow) -> int:
    return check_domain(message.domain)
