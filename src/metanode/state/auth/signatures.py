"""Transaction signatures: Ed25519 over the signing message, and for a hybrid account also
ML-DSA-65 over the same message; both must verify.

A hybrid signature field is `ed25519 (64 bytes) ‖ ml-dsa-65 (3,309 bytes)` (types/transaction.py
fixes the total length). Verification is pure computation, so it may run inside `apply_block`;
`machine.py` skips it for transactions the node verified at admission. The mempool calls this
same function for hybrid transactions, so admission and blocks agree.
"""

from __future__ import annotations

from metanode.crypto import ed25519, pq
from metanode.errors import KeyFormatError, VerificationError
from metanode.types import Transaction
from metanode.types import constants as types_constants

_ED25519 = types_constants.ed25519_signature_bytes


def verify_tx_signature(tx: Transaction) -> bool:
    message = tx.signing_message()
    if not ed25519.is_valid(tx.sender, message, tx.signature[:_ED25519]):
        return False
    if tx.pq_public_key is None:
        return True
    try:
        pq.mldsa65_verify(tx.pq_public_key, message, tx.signature[_ED25519:])
    except (VerificationError, KeyFormatError):
        return False
    return True
