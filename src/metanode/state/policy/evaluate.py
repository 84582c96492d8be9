"""Evaluating a request against a policy: Green, Yellow or Red, with the rule that decided.

The decision is Cedar's (`cedarpy`, the Rust engine of the Cedar language, pinned): the
document is compiled into one Cedar policy set, a `permit` for every request and one `forbid`
per rule the document makes relevant, and the request's declaration is the Cedar context. A
request is Red if a red rule forbids it, Yellow if only yellow rules do, Green otherwise. Cedar
answers with the set of policies that decided; the deciding rule is the first of them in
`RULES` order, so the same request names the same rule on every node.

Cedar skips a policy whose condition fails to evaluate (an attribute the context lacks), which
would let a request that omits a field through; so every condition that reads an optional
field first tests `context has …`, and a missing field has its own red rule: a request that
lacks what the policy needs is Red with that reason, never an error. Names are checked by the
document's syntax (document.py: no quotes, no backslashes) before they reach the policy text;
the request's own values only ever travel in the context, never in policy text.

This is evaluated at the edge (the gateway, `bpci policy evaluate`), never inside a block: a
request's declaration is not on chain, and Cedar's engine is not a consensus dependency.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cedarpy

from metanode.errors import InvariantViolation
from metanode.state.policy.document import Classification, PolicyDocument

# Transports that encrypt in transit; anything else a request names is plaintext.
ENCRYPTED_TRANSPORTS = ("grpcs", "https", "quic", "tls", "wss")


class Light(enum.Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True, slots=True)
class CallRequest:
    """What a caller declares about a call: None or () where it declares nothing."""

    region: str | None = None
    purpose: str | None = None
    data_types: tuple[str, ...] = ()
    consent: str | None = None  # the consent proof the caller holds, as it names it
    transport: str | None = None

    def context(self) -> dict[str, Any]:
        optional = {
            "region": self.region,
            "purpose": self.purpose,
            "consent": self.consent,
            "transport": self.transport,
        }
        present = {name: value for name, value in optional.items() if value is not None}
        return {**present, "data_types": sorted(set(self.data_types))}


@dataclass(frozen=True, slots=True)
class Decision:
    light: Light
    rule: str  # the deciding rule's name; "allowed" for Green
    detail: str


def _list(names: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{name}"' for name in names) + "]"


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    light: Light
    applies: Callable[[PolicyDocument], bool]  # whether the document makes the rule relevant
    condition: Callable[[PolicyDocument], str]  # Cedar condition on `context`, "" = always
    detail: str


def _always(_document: PolicyDocument) -> str:
    return ""


RULES: tuple[Rule, ...] = (
    Rule(
        "region_missing",
        Light.RED,
        lambda d: d.names_regions,
        lambda d: "!(context has region)",
        "the policy names regions and the request declares none",
    ),
    Rule(
        "region_blocked",
        Light.RED,
        lambda d: bool(d.blocked_regions),
        lambda d: f"context has region && {_list(d.blocked_regions)}.contains(context.region)",
        "the request's region is blocked",
    ),
    Rule(
        "region_not_allowed",
        Light.RED,
        lambda d: bool(d.allowed_regions),
        lambda d: f"context has region && !{_list(d.allowed_regions)}.contains(context.region)",
        "the request's region is not among the allowed ones",
    ),
    Rule(
        "purpose_missing",
        Light.RED,
        lambda d: bool(d.purposes),
        lambda d: "!(context has purpose)",
        "the policy limits purposes and the request declares none",
    ),
    Rule(
        "purpose_not_allowed",
        Light.RED,
        lambda d: bool(d.purposes),
        lambda d: f"context has purpose && !{_list(d.purposes)}.contains(context.purpose)",
        "the request's purpose is not allowed",
    ),
    Rule(
        "data_type_not_allowed",
        Light.RED,
        lambda d: True,
        lambda d: f"!{_list(d.data_types + d.review_data_types)}.containsAll(context.data_types)",
        "the request carries a data type the policy does not allow",
    ),
    Rule(
        "consent_missing",
        Light.RED,
        lambda d: d.consent_required,
        lambda d: "!(context has consent)",
        "the policy requires consent and the request holds no consent proof",
    ),
    Rule(
        "transport_missing",
        Light.RED,
        lambda d: d.encrypt_in_transit,
        lambda d: "!(context has transport)",
        "the policy requires encryption in transit and the request names no transport",
    ),
    Rule(
        "transport_unencrypted",
        Light.RED,
        lambda d: d.encrypt_in_transit,
        lambda d: (
            f"context has transport && !{_list(ENCRYPTED_TRANSPORTS)}.contains(context.transport)"
        ),
        "the policy requires encryption in transit and the request's transport is plaintext",
    ),
    Rule(
        "data_type_review",
        Light.YELLOW,
        lambda d: bool(d.review_data_types),
        lambda d: f"context.data_types.containsAny({_list(d.review_data_types)})",
        "the request carries a data type the policy puts under inspection",
    ),
    Rule(
        "classification_restricted",
        Light.YELLOW,
        lambda d: d.classification is Classification.RESTRICTED,
        _always,
        "the app's data is restricted: every call is inspected",
    ),
    Rule(
        "at_rest_unencrypted",
        Light.YELLOW,
        lambda d: d.classification >= Classification.CONFIDENTIAL and not d.encrypt_at_rest,
        _always,
        "confidential data without encryption at rest: every call is inspected",
    ),
)
RULE_NAMES = tuple(rule.name for rule in RULES)
_LIGHTS = [rule.light for rule in RULES]
assert sorted(_LIGHTS, key=lambda light: light is Light.YELLOW) == _LIGHTS, "red rules first"
_PRINCIPAL = 'Caller::"caller"'
_ACTION = 'Action::"call"'
_RESOURCE = 'App::"app"'
_NO_ENTITIES = cedarpy.Entities.from_json_str("[]")


def compile_policy(document: PolicyDocument) -> tuple[str, tuple[Rule, ...]]:
    """The Cedar policy text and the rules in it, in order: Cedar names the n-th statement
    `policy<n>`, and statement 0 is the permit."""
    relevant = tuple(rule for rule in RULES if rule.applies(document))
    statements = ["permit(principal, action, resource);"]
    for rule in relevant:
        condition = rule.condition(document)
        when = f" when {{ {condition} }}" if condition else ""
        statements.append(f"forbid(principal, action, resource){when};")
    return "\n".join(statements), relevant


# Parsing the policy text is most of an evaluation's cost (about 2 ms); a gateway evaluates
# the few current policies of its busy apps over and over, so their parsed sets are kept.
@functools.lru_cache(maxsize=256)
def _parsed(document: PolicyDocument) -> tuple[cedarpy.PolicySet, tuple[Rule, ...]]:
    text, relevant = compile_policy(document)
    return cedarpy.PolicySet.from_str(text), relevant


def evaluate(document: PolicyDocument, request: CallRequest) -> Decision:
    policies, relevant = _parsed(document)
    answer = cedarpy.is_authorized(
        {
            "principal": _PRINCIPAL,
            "action": _ACTION,
            "resource": _RESOURCE,
            "context": request.context(),
        },
        policies,
        _NO_ENTITIES,
    )
    if answer.diagnostics.errors:
        # Every condition guards its optional fields, so an error is a bug of this compiler.
        raise InvariantViolation(f"cedar could not evaluate a policy: {answer.diagnostics.errors}")
    if answer.allowed:
        return Decision(Light.GREEN, "allowed", "no rule of the policy forbids the request")
    fired = {int(reason.removeprefix("policy")) - 1 for reason in answer.diagnostics.reasons}
    deciding = [rule for index, rule in enumerate(relevant) if index in fired]
    if not deciding:
        raise InvariantViolation(f"cedar denied without a forbid: {answer.diagnostics.reasons}")
    chosen = min(deciding, key=RULES.index)  # every red rule comes before every yellow one
    return Decision(chosen.light, chosen.name, chosen.detail)
