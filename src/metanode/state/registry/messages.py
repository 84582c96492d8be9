"""registry messages and their stateless checks (the message types live in `metanode.types`;
their decoders already fix every key length, the enums and the order of roles)."""

from __future__ import annotations

from metanode.codec import decode, encode
from metanode.errors import DecodeError
from metanode.state.codes import OK
from metanode.state.registry import errors
from metanode.types import ExitNode, RegisterNode, SubmitEvidence
from metanode.types.fields import expect_array
from metanode.types.vote import Signed

MESSAGES = (RegisterNode, SubmitEvidence, ExitNode)


def check_p2p_address(address: str) -> bool:
    """`host:port`: a host of printable ASCII without spaces, a port in 1..65535."""
    host, separator, port = address.rpartition(":")
    return (
        bool(separator and host)
        and host.isascii()
        and host.isprintable()
        and " " not in host
        and port.isascii()
        and port.isdigit()
        and 1 <= int(port) <= 65_535
        and port == str(int(port))
    )


def check_did(did: str) -> bool:
    """A DID is text until the identity module resolves it: `did:<method>:<id>`, printable
    ASCII without spaces."""
    method, _, identifier = did.removeprefix("did:").partition(":")
    return (
        did.startswith("did:")
        and bool(method and identifier)
        and did.isascii()
        and did.isprintable()
        and " " not in did
    )


def check_register(message: RegisterNode) -> int:
    if not check_p2p_address(message.p2p_address):
        return errors.P2P_ADDRESS_INVALID
    if not check_did(message.did):
        return errors.DID_INVALID
    return OK


def check_evidence(message: SubmitEvidence) -> int:
    if message.first.slot != message.second.slot:
        return errors.EVIDENCE_NOT_SAME_SLOT
    if message.first.fields() == message.second.fields():
        return errors.EVIDENCE_MESSAGES_IDENTICAL
    return OK


def decode_block_evidence(data: bytes) -> SubmitEvidence | None:
    """An item of `Block.evidence` (the consensus layer's `Evidence.encode`: the two records'
    wire forms, sorted by encoding), or None if it is not exactly that."""
    try:
        first, second = expect_array(decode(data), "evidence", 2)
        message = SubmitEvidence(Signed.from_wire(first), Signed.from_wire(second))
    except DecodeError:
        return None
    if evidence_encoding(message) != data:
        return None  # unsorted: one pair must have one encoding, as its hash is spent once
    return message


def evidence_encoding(message: SubmitEvidence) -> bytes:
    """The pair sorted by encoding, as `consensus.evidence.Evidence.encode` writes it: the same
    two records give the same bytes in either order."""
    return encode(sorted([message.first.to_wire(), message.second.to_wire()], key=encode))
