"""Layer 2: transactions, headers, blocks, commit certificates and receipts.

Frozen dataclasses with `encode()`, `decode()` (strict, typed errors) and `hash()` (tagged
SHA-256); positional deterministic CBOR with a leading version.
"""

from metanode.types.address import Address
from metanode.types.block import Block, BlockHeader, CommitCertificate
from metanode.types.messages import (
    Bond,
    CreateDid,
    DeactivateDid,
    Denom,
    FaucetClaim,
    Message,
    NodeType,
    RegisterCredential,
    RegisterNode,
    RegisterValidator,
    Relationship,
    RevokeCredential,
    Role,
    RotateDidKey,
    Service,
    SubmitEvidence,
    Transfer,
    Unbond,
    UpdateDid,
    VerificationMethod,
)
from metanode.types.receipt import Event, Receipt
from metanode.types.transaction import Transaction

__all__ = [
    "Address",
    "Block",
    "BlockHeader",
    "Bond",
    "CommitCertificate",
    "CreateDid",
    "DeactivateDid",
    "Denom",
    "Event",
    "FaucetClaim",
    "Message",
    "NodeType",
    "Receipt",
    "RegisterCredential",
    "RegisterNode",
    "RegisterValidator",
    "Relationship",
    "RevokeCredential",
    "Role",
    "RotateDidKey",
    "Service",
    "SubmitEvidence",
    "Transaction",
    "Transfer",
    "Unbond",
    "UpdateDid",
    "VerificationMethod",
]
