"""Bus BIOS routing: what a node does with an app call, by the app's light and mode, and the
signed record it gives for it.

Routing (`route`): an app governance contains (emergency mode) takes no new call: Red,
`app_contained`. An app without a policy is Green (`no_policy`). Otherwise the policy's light
(evaluate.py): Green passes, Yellow is quarantined (the gateway logs it with the rule, admits
at most its quarantine rate, and marks the call's record), Red is refused. Every answer carries
a `RoutingRecord` the node signs with its Ed25519 key, so a refused caller holds proof of which
policy version and rule refused it, and an auditor can check a quarantine mark.

Record wire form: `[1, light, app_id, policy_version, rule, tx_hash, height, request_hash]`,
signed as `SHA-256("metanode/policy-routing/v1" ‖ 0x00 ‖ record)`. `request_hash` is the
SHA-256 of the declaration's canonical CBOR (`request_wire`), `height` the committed height
the node routed at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metanode.codec import decode, encode, tags
from metanode.crypto import ed25519
from metanode.crypto.hashing import sha256, tagged_hash
from metanode.errors import DecodeError
from metanode.state.policy.evaluate import CallRequest, Decision, Light, evaluate
from metanode.state.policy.queries import contained, policy
from metanode.state.view import StateReader
from metanode.types import constants as types_constants
from metanode.types.fields import expect_array, expect_bytes, expect_text, expect_uint

record_version = 1


@dataclass(frozen=True, slots=True)
class Route:
    decision: Decision
    policy_version: int  # 0: the app has no policy


def route(reader: StateReader, app_id: bytes, request: CallRequest) -> Route:
    since = contained(reader, app_id)
    if since is not None:
        detail = f"governance contained the app at height {since}: no new calls"
        return Route(Decision(Light.RED, "app_contained", detail), 0)
    current = policy(reader, app_id)
    if current is None:
        return Route(Decision(Light.GREEN, "no_policy", "the app has no policy"), 0)
    return Route(evaluate(current.document, request), current.version)


def request_wire(request: CallRequest) -> list[Any]:
    return [
        request.region or "",
        request.purpose or "",
        sorted(set(request.data_types)),
        request.consent or "",
        request.transport or "",
    ]


@dataclass(frozen=True, slots=True)
class RoutingRecord:
    light: Light
    app_id: bytes
    policy_version: int
    rule: str
    tx_hash: bytes
    height: int
    request_hash: bytes

    @classmethod
    def of(
        cls, routed: Route, app_id: bytes, tx_hash: bytes, height: int, request: CallRequest
    ) -> RoutingRecord:
        return cls(
            routed.decision.light,
            app_id,
            routed.policy_version,
            routed.decision.rule,
            tx_hash,
            height,
            sha256(encode(request_wire(request))),
        )

    @classmethod
    def decode(cls, data: bytes) -> RoutingRecord:
        """A record as a node signed it (a client checks one with `verify`); raises
        DecodeError for anything else."""
        version, light, app_id, policy_version, rule, tx_hash, height, request_hash = expect_array(
            decode(data), "routing record", 8
        )
        if version != record_version or light not in {item.value for item in Light}:
            raise DecodeError("unknown_version", "not a version 1 routing record")
        return cls(
            Light(light),
            expect_bytes(app_id, "routing.app_id", types_constants.hash_bytes),
            expect_uint(policy_version, "routing.policy_version"),
            expect_text(rule, "routing.rule", 64),
            expect_bytes(tx_hash, "routing.tx_hash", types_constants.hash_bytes),
            expect_uint(height, "routing.height"),
            expect_bytes(request_hash, "routing.request_hash", types_constants.hash_bytes),
        )

    def encode(self) -> bytes:
        return encode(
            [
                record_version,
                self.light.value,
                self.app_id,
                self.policy_version,
                self.rule,
                self.tx_hash,
                self.height,
                self.request_hash,
            ]
        )

    def signing_message(self) -> bytes:
        return tagged_hash(tags.POLICY_ROUTING, self.encode())

    def sign(self, key: ed25519.PrivateKey) -> bytes:
        return key.sign(self.signing_message())

    def verify(self, public_key: bytes, signature: bytes) -> bool:
        return ed25519.is_valid(public_key, self.signing_message(), signature)
