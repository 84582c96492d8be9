"""shadow rules: register a shadow identity, grant or revoke the right to act as the sender.

RegisterShadow ladder: the domain is well formed; no other account holds it. Registering a
domain the sender already holds rotates its keys (its registration height stays).
GrantShadow ladder: the domain is well formed and registered; with no scopes, the sender's
grant to it is revoked (it must exist); otherwise the expiry lies above this block and at most
`grant_blocks_max` above it, each app is named once (each function once) and exists. A grant
replaces the sender's previous one to the same shadow. Expiry is a height: the block height
is the chain's clock for rules, and a grant holds for calls in blocks below `expiry_height`.
"""

from __future__ import annotations

from metanode.state.apps import queries as apps
from metanode.state.codes import OK
from metanode.state.context import TxContext
from metanode.state.shadow import errors
from metanode.state.shadow.messages import check_domain, check_register, check_scopes
from metanode.state.shadow.records import (
    Grant,
    Shadow,
    delete_grant,
    read_grant,
    read_shadow,
    write_grant,
    write_shadow,
)
from metanode.state.view import Overlay
from metanode.types import GrantShadow, RegisterShadow

# About 116 days at one block a second: a grant is renewed, never forever.
grant_blocks_max = 10_000_000


def on_register_shadow(writer: Overlay, context: TxContext, message: RegisterShadow) -> int:
    code = check_register(message)
    if code != OK:
        return code
    existing = read_shadow(writer, message.domain)
    if existing is not None and existing.owner != context.sender:
        return errors.DOMAIN_TAKEN
    height = context.block.height if existing is None else existing.registered_height
    write_shadow(
        writer,
        Shadow(message.domain, context.sender, message.service_key, message.encryption_key, height),
    )
    return OK


def on_grant_shadow(writer: Overlay, context: TxContext, message: GrantShadow) -> int:
    code = check_domain(message.domain)
    if code != OK:
        return code
    if read_shadow(writer, message.domain) is None:
        return errors.SHADOW_UNKNOWN
    if not message.scopes:
        if read_grant(writer, context.sender, message.domain) is None:
            return errors.GRANT_UNKNOWN
        delete_grant(writer, context.sender, message.domain)
        return OK
    height = context.block.height
    if message.expiry_height <= height:
        return errors.GRANT_EXPIRY_PASSED
    if message.expiry_height - height > grant_blocks_max:
        return errors.GRANT_EXPIRY_TOO_FAR
    code = check_scopes(message)
    if code != OK:
        return code
    if any(apps.app(writer, scope.app_id) is None for scope in message.scopes):
        return errors.SCOPE_INVALID
    write_grant(
        writer, context.sender, message.domain, Grant(message.scopes, message.expiry_height, height)
    )
    return OK
