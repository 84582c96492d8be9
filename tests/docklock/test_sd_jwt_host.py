"""The `sd_jwt_verify` host call: an app in the cage checks an SD-JWT presentation that its
caller passes as input, sees exactly the disclosed claims, gets the rule of a refusal, and
the call replays to the same witness (verification is a pure function of its inputs)."""

from __future__ import annotations

import json

from metanode.crypto import sd_jwt
from metanode.docklock import cage
from metanode.docklock.executor import execute
from metanode.docklock.receipt import Bundle
from metanode.docklock.replay import replay
from tests.crypto.test_sd_jwt import HOLDER, ISSUER, issuance, now

# The app hands its whole input to the host call and outputs the verdict.
VERIFIER = cage.wat_to_wasm("""
(module
  (import "env" "input_len" (func $len (result i32)))
  (import "env" "input_read" (func $read (param i32)))
  (import "env" "sd_jwt_verify" (func $verify (param i32 i32 i32 i32) (result i32)))
  (import "env" "output_write" (func $write (param i32 i32)))
  (memory (export "memory") 2)
  (func (export "check") (local $n i32) (local $m i32)
    (local.set $n (call $len))
    (call $read (i32.const 0))
    (local.set $m (call $verify (i32.const 0) (local.get $n) (i32.const 65536) (i32.const 65536)))
    (call $write (i32.const 65536) (local.get $m))))
""")


def request(presentation: str) -> bytes:
    return json.dumps(
        {
            "presentation": presentation,
            "issuer_key": ISSUER.public_key.hex(),
            "audience": "app:kyc-gate",
            "nonce": "call-7",
        }
    ).encode()


def run(input_: bytes) -> tuple[dict[str, object], Bundle]:
    bundle, _ = execute(
        VERIFIER, "check", input_, {}, HOLDER, block_time=now() * 1_000, seed=bytes(32)
    )
    assert bundle.receipt.outcome == "ok", bundle.receipt.outcome
    return json.loads(bundle.output), bundle


def test_an_app_sees_exactly_the_disclosed_claims_and_the_call_replays() -> None:
    shown = sd_jwt.present(issuance(), ["country", "kyc_level"], HOLDER, "app:kyc-gate", "call-7")
    verdict, bundle = run(request(shown))
    assert verdict["ok"] is True and verdict["key_bound"] is True
    claims = verdict["claims"]
    assert {name: claims[name] for name in ("country", "kyc_level")} == {
        "country": "IN",
        "kyc_level": "full",
    }
    assert not {"given_name", "family_name", "birthdate", "sub"} & set(claims)
    assert replay(Bundle.decode(bundle.encode())).lines() == ["match"]


def test_a_refusal_reaches_the_app_as_its_rule() -> None:
    shown = sd_jwt.present(issuance(), ["country"], HOLDER, "app:other", "call-7")
    verdict, _ = run(request(shown))
    assert verdict == {"ok": False, "rule": "key_binding_invalid"}
    verdict, _ = run(b"not json")
    assert verdict == {"ok": False, "rule": "bad_request"}
