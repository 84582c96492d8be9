"""Run one call in the cage and sign what happened: the receipt and its replay bundle."""

from __future__ import annotations

from typing import Any, NamedTuple

from metanode.crypto import ed25519, merkle
from metanode.crypto.hashing import blake3_hash
from metanode.docklock import cage, constants
from metanode.docklock.live import LiveState, Transition
from metanode.docklock.receipt import Bundle, Receipt, Request, encoded_of

ZERO = bytes(32)


class Executed(NamedTuple):
    """A call run and signed (`execute_encoded`), with what the executor service stores and
    gossips encoded once each, and its changes to the app's state, not yet made."""

    receipt: Receipt
    run: cage.Execution
    transition: Transition  # the changes, the root and the size after (`LiveState.apply`)
    encoded: bytes  # the receipt's (`Receipt.encode()`)
    records: list[bytes]  # the witness records', which the receipt's witness root is over


def execute(
    module: bytes,
    function: str,
    input_: bytes,
    state: dict[bytes, bytes],
    key: ed25519.PrivateKey,
    **options: Any,
) -> tuple[Bundle, dict[bytes, bytes]]:
    """(the signed bundle, the app state after the call) for a call on a whole state of its
    own: its tree is built for the call (`execute_encoded` on an app's `LiveState` is not)."""
    executed = execute_encoded(module, function, input_, LiveState(dict(state)), key, **options)
    run = executed.run
    bundle = Bundle(executed.receipt, module, input_, dict(state), run.witness, run.output)
    return bundle, run.state_after  # type: ignore[return-value]


def execute_encoded(
    module: bytes,
    function: str,
    input_: bytes,
    state: LiveState,
    key: ed25519.PrivateKey,
    *,
    block_time: int,
    seed: bytes,
    previous: bytes = ZERO,
    fuel: int = constants.fuel_max,
    request: Request | None = None,
) -> Executed:
    """The signed receipt of the call on the app's `state`, left as it was: the caller makes
    the changes (`state.apply(executed.transition)`) once it has stored them. With the
    client's `request` the receipt is a split-origin one (version 2, receipt.py). The roots
    before and after are the state's tree's, updated at the keys the call changed only. The
    receipt's encoding is assembled from the signing message just signed (`encoded_of`) and the
    witness records are encoded once, for the root and the store: the executor service encoded
    both again, ~12 us a counter call (docs/performance.md, "Apps, w20")."""
    run = cage.run(
        module, function, input_, state.state, block_time=block_time, seed=seed, fuel=fuel
    )
    records = [record.encode() for record in run.witness]
    transition = state.transition(run.changes)
    unsigned = Receipt(
        app_id=cage.app_id(module),
        function=function,
        input_hash=blake3_hash(input_),
        state_root_before=state.root,
        state_root_after=transition.root,
        fuel_used=run.fuel_used,
        peak_memory_bytes=run.peak_memory_bytes,
        witness_root=merkle.root(records),
        witness_length=len(run.witness),
        outcome=run.outcome,
        output_hash=blake3_hash(run.output),
        block_time=block_time,
        seed=seed,
        executor=key.public_key,
        previous=previous,
        request=request,
    )
    message = unsigned.signing_message()
    signature = key.sign(message)
    signed = Receipt(**{**_fields(unsigned), "signature": signature})
    return Executed(signed, run, transition, encoded_of(message, signature), records)


def _fields(receipt: Receipt) -> dict[str, object]:
    return {name: getattr(receipt, name) for name in Receipt.__slots__}  # type: ignore[attr-defined]
