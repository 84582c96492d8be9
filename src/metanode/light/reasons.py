"""Why the light client refused what a full node sent: one stable name per kind of lie.

A `Rejected` carries one `Rejection` and a message a person can act on. Rejections are values
of the client, never result codes of the chain: nothing here is stored on chain. The names are
stable (scripts read them from `metanode light verify`'s first line, `rejected: NAME`).
"""

from __future__ import annotations

import enum

from metanode.errors import MetanodeError


class Rejection(enum.Enum):
    # The header itself.
    WRONG_CHAIN = "wrong_chain"
    FORGED_HEADER = "forged_header"  # the certificate commits another block than this header
    NOT_LINKED = "not_linked"  # previous_hash does not name the trusted header
    TIME_WENT_BACK = "time_went_back"
    HEADER_FROM_FUTURE = "header_from_future"
    # The certificate.
    WRONG_HEIGHT = "wrong_height"  # the certificate or header is for another height
    SIGNER_OUTSIDE_SET = "signer_outside_set"  # the bitmap names keys the set does not hold
    INSUFFICIENT_POWER = "insufficient_power"  # below the quorum of the header's own set
    BAD_SIGNATURE = "bad_signature"
    # The validator sets.
    VALIDATOR_SET_MISMATCH = "validator_set_mismatch"  # the set is not the one the header names
    STALE_VALIDATOR_SET = "stale_validator_set"  # not the next set the trusted header named
    NOT_ENOUGH_TRUST = "not_enough_trust"  # too little of the trusted set's power signed
    TRUSTED_STATE_EXPIRED = "trusted_state_expired"
    # The data proved against a header.
    PROOF_INVALID = "proof_invalid"  # a value that does not match its proof
    PROOF_WRONG_HEIGHT = "proof_wrong_height"  # a proof for another height than asked
    # The providers.
    HEADER_WITHHELD = "header_withheld"
    FORK_DETECTED = "fork_detected"  # a primary and a witness on different forks
    TRUST_ROOT_MISMATCH = "trust_root_mismatch"  # the header at the trust height has another hash
    BACKWARDS_TOO_FAR = "backwards_too_far"
    MALFORMED = "malformed"  # an answer that does not decode
    NOT_FOUND = "not_found"  # the node knows no such transaction, receipt or block
    NOT_SERVED = "not_served"  # the node keeps no state of that height (it says which it has)


class Rejected(MetanodeError):
    """A full node's answer the light client refused; its trusted state did not move."""

    def __init__(self, reason: Rejection, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")
