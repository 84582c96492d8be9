"""Run one call in the cage and sign what happened: the receipt and its replay bundle."""

from __future__ import annotations

from typing import Any, NamedTuple

from metanode.crypto import ed25519, merkle
from metanode.crypto.hashing import blake3_hash
from metanode.docklock import cage, constants
from metanode.docklock.appstate import state_root
from metanode.docklock.receipt import Bundle, Receipt, Request, encoded_of

ZERO = bytes(32)


class Executed(NamedTuple):
    """A call run and signed (`execute_encoded`), with what the executor service stores and
    gossips encoded once each."""

    bundle: Bundle
    state_after: dict[bytes, bytes]
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
    """(the signed bundle, the app state after the call): `execute_encoded` without the
    encodings."""
    executed = execute_encoded(module, function, input_, state, key, **options)
    return executed.bundle, executed.state_after


def execute_encoded(
    module: bytes,
    function: str,
    input_: bytes,
    state: dict[bytes, bytes],
    key: ed25519.PrivateKey,
    *,
    block_time: int,
    seed: bytes,
    previous: bytes = ZERO,
    fuel: int = constants.fuel_max,
    request: Request | None = None,
    root_before: bytes | None = None,
) -> Executed:
    """The signed bundle, the app state after the call and the encodings. With the
    client's `request` the receipt is a split-origin one (version 2, receipt.py).
    `root_before`: `state`'s root, if the caller knows it (an executor running an app's calls
    in turn holds the last call's root after), so that the state tree is not built again for
    it. The receipt's encoding is assembled from the signing message just signed
    (`encoded_of`) and the witness records are encoded once, for the root and the store: the
    executor service encoded both again, ~12 us a counter call (docs/performance.md, "Apps,
    w20")."""
    run = cage.run(module, function, input_, state, block_time=block_time, seed=seed, fuel=fuel)
    records = [record.encode() for record in run.witness]
    unsigned = Receipt(
        app_id=cage.app_id(module),
        function=function,
        input_hash=blake3_hash(input_),
        state_root_before=state_root(state) if root_before is None else root_before,
        state_root_after=state_root(run.state_after),
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
    bundle = Bundle(signed, module, input_, dict(state), run.witness, run.output)
    return Executed(bundle, run.state_after, encoded_of(message, signature), records)


def _fields(receipt: Receipt) -> dict[str, object]:
    return {name: getattr(receipt, name) for name in Receipt.__slots__}  # type: ignore[attr-defined]
