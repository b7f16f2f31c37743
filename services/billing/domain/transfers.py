"""Transfers between two accounts of one company, and the idempotency of requests that
move money.

A transfer is decided at once: the donor's available amount must cover it (checked and
debited in one conditional write, so two transfers never both pass on the same money),
then it is done. A request that moves money carries an idempotency key; the key with the
same request answers the first result, with another request it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.billing.domain.ledger import checked_amount
from services.kit.errors import InvalidArgument, NotAllowed

COMPLETED = "completed"


@dataclass(frozen=True)
class Transfer:
    id: str
    company_id: str
    from_account_id: str
    to_account_id: str
    amount: int
    status: str
    created_at: datetime
    created_by: str = ""


@dataclass(frozen=True)
class TransferRequest:
    from_account_id: str
    to_account_id: str
    amount: int


def checked_transfer(
    from_account_id: str, to_account_id: str, amount: int, currency: str
) -> TransferRequest:
    errors: dict[str, str] = {}
    if not from_account_id.strip():
        errors["from_account_id"] = "name the donor account"
    if not to_account_id.strip():
        errors["to_account_id"] = "name the account to transfer to"
    try:
        checked_amount(amount, currency)
    except InvalidArgument as error:
        errors.update(error.fields)
    if errors:
        raise InvalidArgument("the transfer is not valid", errors)
    if from_account_id.strip() == to_account_id.strip():
        # A rule across two fields (no schema can say it): 409, not 422.
        raise NotAllowed("a transfer needs two different accounts", reason="SAME_ACCOUNT")
    return TransferRequest(from_account_id.strip(), to_account_id.strip(), amount)
