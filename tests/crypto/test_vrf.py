from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from metanode.crypto import vrf
from tests.conftest import examples


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=64))
@settings(max_examples=examples(60), deadline=None)
def test_prove_verify_roundtrip_and_determinism(seed: bytes, alpha: bytes) -> None:
    proof = vrf.prove(seed, alpha)
    assert vrf.prove(seed, alpha) == proof
    beta = vrf.verify(vrf.public_key(seed), alpha, proof)
    assert beta == vrf.proof_to_hash(proof) and len(beta) == 64


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=16), st.binary(max_size=16))
@settings(max_examples=examples(30), deadline=None)
def test_outputs_differ_for_different_inputs(seed: bytes, first: bytes, second: bytes) -> None:
    if first != second:
        assert vrf.proof_to_hash(vrf.prove(seed, first)) != vrf.proof_to_hash(
            vrf.prove(seed, second)
        )
