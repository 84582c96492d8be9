"""Run one call in the cage and sign what happened: the receipt and its replay bundle."""

from __future__ import annotations

from typing import Any

from metanode.crypto import ed25519
from metanode.crypto.hashing import blake3_hash
from metanode.docklock import cage, constants, witness
from metanode.docklock.appstate import state_root
from metanode.docklock.receipt import Bundle, Receipt, Request, encoded_of

ZERO = bytes(32)


def execute(
    module: bytes,
    function: str,
    input_: bytes,
    state: dict[bytes, bytes],
    key: ed25519.PrivateKey,
    **options: Any,
) -> tuple[Bundle, dict[bytes, bytes]]:
    """(the signed bundle, the app state after the call): `execute_encoded` without the
    receipt's encoding."""
    bundle, after, _encoded = execute_encoded(module, function, input_, state, key, **options)
    return bundle, after


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
) -> tuple[Bundle, dict[bytes, bytes], bytes]:
    """(the signed bundle, the app state after the call, the receipt's encoding). With the
    client's `request` the receipt is a split-origin one (version 2, receipt.py).
    `root_before`: `state`'s root, if the caller knows it (an executor running an app's calls
    in turn holds the last call's root after), so that the state tree is not built again for
    it. The encoding is assembled from the signing message just signed (`encoded_of`): the
    executor service stores and gossips it, and encoding the body again for it was ~10 us a
    call (docs/performance.md, "Apps, w20")."""
    run = cage.run(module, function, input_, state, block_time=block_time, seed=seed, fuel=fuel)
    unsigned = Receipt(
        app_id=cage.app_id(module),
        function=function,
        input_hash=blake3_hash(input_),
        state_root_before=state_root(state) if root_before is None else root_before,
        state_root_after=state_root(run.state_after),
        fuel_used=run.fuel_used,
        peak_memory_bytes=run.peak_memory_bytes,
        witness_root=witness.root(run.witness),
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
    return bundle, run.state_after, encoded_of(message, signature)


def _fields(receipt: Receipt) -> dict[str, object]:
    return {name: getattr(receipt, name) for name in Receipt.__slots__}  # type: ignore[attr-defined]
