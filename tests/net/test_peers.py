from __future__ import annotations

import os

from metanode.net import constants, tls
from metanode.net.peers import Scores
from metanode.types import Address

PEER = Address(bytes(20))


def test_offences_add_up_to_a_ban_that_ends() -> None:
    scores = Scores()
    offences = constants.score_start // constants.penalty_malformed
    results = [
        scores.penalize(PEER, constants.penalty_malformed, "malformed", 0) for _ in range(offences)
    ]
    assert results[-1] is True and not any(results[:-1])
    assert scores.is_banned(PEER, constants.ban_ms - 1)
    assert not scores.is_banned(PEER, constants.ban_ms)
    assert scores.snapshot()[str(PEER)]["offences"] == {"malformed": offences}


def test_the_token_bucket_allows_the_burst_then_the_rate() -> None:
    scores = Scores()
    allowed = sum(scores.take_token(PEER, 0) for _ in range(constants.frames_burst_max + 10))
    assert allowed == constants.frames_burst_max
    assert not scores.take_token(PEER, 0)
    assert scores.take_token(PEER, 1_000 // constants.frames_per_second_max + 1)


def test_a_certificate_binds_the_node_key_and_is_deterministic() -> None:
    seed = os.urandom(32)
    pem = tls.certificate_pem(seed)
    assert tls.certificate_pem(seed) == pem
    from metanode.crypto import ed25519

    public = ed25519.PrivateKey.from_seed(seed).public_key
    assert tls.certificate_key(pem) == public
    assert tls.node_id(public) == Address.from_public_key(public)
