"""shadow invariants, named, checked after every block in tests.

- `grants_name_shadows`: every grant is to a registered shadow, has at least one scope, and
  expires after it was granted.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.shadow import keys
from metanode.state.shadow.records import decode_grant
from metanode.state.view import StateReader


def grants_name_shadows(reader: StateReader) -> None:
    for key, value in reader.scan(keys.GRANTS):
        grant = decode_grant(value, key)
        shadow_id = key[len(keys.GRANTS) + 20 :]
        check(
            reader.get(keys.SHADOWS + shadow_id) is not None,
            f"shadow.grants_name_shadows: {key.hex()} names no shadow",
        )
        check(grant.scopes != (), f"shadow.grants_name_shadows: {key.hex()} has no scope")
        check(
            grant.expiry_height > grant.granted_height,
            f"shadow.grants_name_shadows: {key.hex()} expired when granted",
        )


INVARIANTS = (grants_name_shadows,)
