"""privacy keys. Prefix 0x0f belongs to privacy; a table byte, once used, is never reused.

0x0f 0x00                      → parameters (params.py)
0x0f 0x01 ‖ issuer id(20)      → the issuer's AnonCreds definitions (JSON, crypto/zk.py)
0x0f 0x02 ‖ issuer id(20)      → the issuer's current revocation status list (JSON)
0x0f 0x03 ‖ address(20)        → the account's last accepted KYC proof (records.Attestation)
0x0f 0x04 ‖ challenge(32)      → the height that accepted the proof with this challenge: a
                                 proof is spent once (replay protection)

`issuer id` is the DID's method-specific id (identity/records.did_id).
"""

from __future__ import annotations

PREFIX = b"\x0f"
PARAMS = PREFIX + b"\x00"
DEFINITIONS = PREFIX + b"\x01"
STATUS_LIST = PREFIX + b"\x02"
ATTESTATION = PREFIX + b"\x03"
SPENT = PREFIX + b"\x04"


def definitions(issuer: bytes) -> bytes:
    return DEFINITIONS + issuer


def status_list(issuer: bytes) -> bytes:
    return STATUS_LIST + issuer


def attestation(address: bytes) -> bytes:
    return ATTESTATION + address


def spent(challenge: bytes) -> bytes:
    return SPENT + challenge
