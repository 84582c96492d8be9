"""Client transactions into the node's mempool, and the gateway's answer for each: shared by
`POST /api/v1/txs` and the policy-routed app calls (`POST /api/v1/apps/{id}/calls`)."""

from __future__ import annotations

from fastapi import Request

from metanode.mempool.pool import Admission
from metanode.node.node import Node

from . import problems, schemas, security


async def admit_one(node: Node, raw: bytes, request: Request) -> schemas.Admitted:
    """Admit one client transaction; a refusal is a 400 problem naming the mempool's reason.
    The guard hears the mempool's verdict on the client who sent it."""
    (result,) = await node.submit([raw])
    security.report(node, request, [result])
    answer = admitted(result)
    if not answer.accepted:
        raise problems.Problem(
            400,
            f"tx-{answer.reason}",
            "Transaction refused",
            f"the mempool refused it: {answer.reason}: {answer.detail}",
            reason=answer.reason,
            hash=answer.hash,
            next_nonce=answer.next_nonce,
        )
    return answer


def admitted(result: Admission) -> schemas.Admitted:
    return schemas.Admitted(
        hash=result.hash.hex() if result.hash else None,
        accepted=result.admitted,
        reason=result.reason.value if result.reason else None,
        detail=result.detail or None,
        queued=result.queued,
        queued_reason="nonce_gap" if result.queued else None,
        next_nonce=result.next_nonce,
    )
