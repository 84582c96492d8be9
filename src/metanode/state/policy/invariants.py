"""policy invariants, named, checked after every block in tests.

- `versions_are_complete`: an app with a current policy version n has records 1..n and no
  other, each a document that decodes, names that app and carries its own number; only a
  deployed app has policies.
- `containment_names_apps`: only a deployed app is contained.
"""

from __future__ import annotations

from metanode.errors import check
from metanode.state.apps.records import read_app
from metanode.state.policy import keys
from metanode.state.policy.records import current_version, read_policy
from metanode.state.view import StateReader
from metanode.types import constants as types_constants

_APP = len(keys.POLICY) + types_constants.hash_bytes


def versions_are_complete(reader: StateReader) -> None:
    stored: dict[bytes, list[int]] = {}
    for key, _value in reader.scan(keys.POLICY):
        stored.setdefault(key[len(keys.POLICY) : _APP], []).append(
            int.from_bytes(key[_APP:], "big")
        )
    for key, _value in reader.scan(keys.CURRENT):
        stored.setdefault(key[len(keys.CURRENT) :], [])
    for app_id, numbers in stored.items():
        current = current_version(reader, app_id)
        check(
            numbers == list(range(1, current + 1)),
            f"policy.versions_are_complete: app {app_id.hex()} holds {numbers}, current {current}",
        )
        check(read_app(reader, app_id) is not None, "policy.versions_are_complete: unknown app")
        for number in numbers:
            record = read_policy(reader, app_id, number)
            document = record.decoded() if record is not None else None
            check(
                document is not None and (document.app_id, document.number) == (app_id, number),
                f"policy.versions_are_complete: version {number} of {app_id.hex()} misnamed",
            )


def containment_names_apps(reader: StateReader) -> None:
    for key, _value in reader.scan(keys.CONTAINED):
        app_id = key[len(keys.CONTAINED) :]
        check(
            read_app(reader, app_id) is not None,
            f"policy.containment_names_apps: {app_id.hex()} is no app",
        )


INVARIANTS = (versions_are_complete, containment_names_apps)
