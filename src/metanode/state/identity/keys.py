"""identity keys. Prefix 0x06 belongs to identity; a table byte, once used, is never reused.

0x06 0x01 ‖ id(20)                     → DID record (records.py: DidRecord)
0x06 0x02 ‖ subject id(20) ‖ hash(32)  → credential record (records.py: CredentialRecord)
0x06 0x03 ‖ issuer id(20)              → the issuer's revocation status list: its bitstring,
                                          `status_list_bits` bits, bit 0 the first byte's
                                          highest (absent: no bit set)
0x06 0x04 ‖ issuer id(20) ‖ index(4)   → hash of the credential that holds this status index

`id` is the DID's method-specific id decoded from base58btc (records.did_id).
"""

from __future__ import annotations

PREFIX = b"\x06"
DID = PREFIX + b"\x01"
CREDENTIAL = PREFIX + b"\x02"
STATUS_LIST = PREFIX + b"\x03"
STATUS_INDEX = PREFIX + b"\x04"


def did(identifier: bytes) -> bytes:
    return DID + identifier


def credentials_of(subject: bytes) -> bytes:
    return CREDENTIAL + subject


def credential(subject: bytes, credential_hash: bytes) -> bytes:
    return CREDENTIAL + subject + credential_hash


def status_list(issuer: bytes) -> bytes:
    return STATUS_LIST + issuer


def status_index(issuer: bytes, index: int) -> bytes:
    return STATUS_INDEX + issuer + index.to_bytes(4, "big")
