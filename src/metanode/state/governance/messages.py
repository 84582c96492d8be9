"""governance messages and their stateless checks (the message types live in
`metanode.types`; their decoders already fix lengths, the vote option and the order of
parameter changes)."""

from __future__ import annotations

from metanode.state.bank.accounts import MODULE_ADDRESSES
from metanode.state.codes import OK
from metanode.state.governance import errors
from metanode.state.governance.parameters import check_change
from metanode.types import (
    Deposit,
    ParameterChanges,
    ProposalContent,
    SoftwareUpgrade,
    SubmitProposal,
    TreasurySpend,
    Vote,
)

MESSAGES = (SubmitProposal, Deposit, Vote)


def _is_name(text: str) -> bool:
    return bool(text.strip()) and text.isprintable()


def check_content(content: ProposalContent) -> int:
    if isinstance(content, ParameterChanges):
        for change in content.changes:
            code = check_change(change.parameter, change.value)
            if code != OK:
                return code
    elif isinstance(content, TreasurySpend):
        if content.amount == 0:
            return errors.AMOUNT_MUST_NOT_BE_ZERO
        if content.recipient in MODULE_ADDRESSES:
            # A module account's balance follows its module's records; a payment would break them.
            return errors.RECIPIENT_IS_MODULE_ACCOUNT
    elif isinstance(content, SoftwareUpgrade) and not (
        _is_name(content.name) and content.name.isascii() and " " not in content.name
    ):
        return errors.UPGRADE_NAME_INVALID
    return OK


def check_submit(message: SubmitProposal) -> int:
    if not _is_name(message.title):
        return errors.TITLE_INVALID
    return check_content(message.content)


def check_deposit(message: Deposit) -> int:
    if message.amount == 0:
        return errors.AMOUNT_MUST_NOT_BE_ZERO
    return OK
