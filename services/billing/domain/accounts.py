"""Personal accounts: balance, available amount, settlement method, bill delivery.

- Available: what may be spent or moved now. On advance it is the balance; on credit the
  balance plus the credit limit. A promised payment is booked as money on the account (a
  ledger posting against the operator's promised payments), so it is in the balance.
- The floor: transfers (and nothing the company does itself) never take the available
  amount below zero. Charges for what was already consumed are booked whatever the
  balance; an account whose balance they exhaust has its numbers blocked.
- Exhausted: an advance account at or below zero, a credit account below minus its limit.
- Settlement method: credit → advance at once when the balance is not negative;
  advance → credit only with the operator's approval (a request is opened).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.billing.domain.ledger import CURRENCY, MAX_AMOUNT
from services.kit.errors import InvalidArgument, NotAllowed

ADVANCE = "advance"
CREDIT = "credit"
METHODS: dict[str, str] = {ADVANCE: "авансовый", CREDIT: "кредитный"}

EMAIL = "email"
POST = "post"
DELIVERY_METHODS: dict[str, str] = {EMAIL: "по электронной почте", POST: "почтой"}

NAME_MAX = 100
ADDRESS_MAX = 300
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class BillDelivery:
    method: str = EMAIL
    address: str = ""


@dataclass(frozen=True)
class Account:
    id: str
    company_id: str
    number: str
    settlement_method: str
    opened_at: datetime
    name: str = ""
    balance: int = 0
    credit_limit: int = 0  # 0 on advance
    bill_delivery: BillDelivery = field(default_factory=BillDelivery)
    blocked: bool = False  # its numbers carry the financial block
    block_version: int = 0  # grows with each turn of `blocked` (consumers order by it)
    number_count: int = 0
    low_balance_threshold: int = 0  # kopecks; below it the company is told (0: never)

    @property
    def available(self) -> int:
        return available(self.settlement_method, self.balance, self.credit_limit)

    @property
    def exhausted(self) -> bool:
        return exhausted(self.settlement_method, self.balance, self.credit_limit)


def available(method: str, balance: int, credit_limit: int) -> int:
    return balance + credit_limit if method == CREDIT else balance


def exhausted(method: str, balance: int, credit_limit: int) -> bool:
    """The numbers are blocked: advance at or below zero, credit below minus the limit."""
    if method == CREDIT:
        return balance < -credit_limit
    return balance <= 0


def account_number(digits: int) -> str:
    """How a person reads an account: "ЛС-" and ten digits."""
    return f"ЛС-{digits:010d}"


def checked_name(name: str) -> str:
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise InvalidArgument("the name is too long", {"name": f"at most {NAME_MAX} characters"})
    return name


def checked_bill_delivery(method: str, address: str) -> BillDelivery:
    method = method.strip()
    address = " ".join(address.split())
    if method not in DELIVERY_METHODS:
        raise InvalidArgument(
            "unknown delivery method", {"method": f"one of: {', '.join(DELIVERY_METHODS)}"}
        )
    if not address:
        raise InvalidArgument("the address is missing", {"address": "give the address"})
    if len(address) > ADDRESS_MAX:
        raise InvalidArgument(
            "the address is too long", {"address": f"at most {ADDRESS_MAX} characters"}
        )
    if method == EMAIL and not _EMAIL.fullmatch(address):
        raise InvalidArgument("the e-mail address is not valid", {"address": "name@example.ru"})
    return BillDelivery(method, address)


def checked_method(method: str) -> str:
    if method not in METHODS:
        raise InvalidArgument(
            "unknown settlement method", {"method": f"one of: {', '.join(METHODS)}"}
        )
    return method


def checked_credit_limit(amount: int, currency: str = CURRENCY) -> int:
    errors: dict[str, str] = {}
    if currency not in ("", CURRENCY):
        errors["credit_limit.currency"] = f"amounts are in {CURRENCY}"
    if amount <= 0:
        errors["credit_limit.amount"] = "a positive number of kopecks"
    elif amount > MAX_AMOUNT:
        errors["credit_limit.amount"] = f"at most {MAX_AMOUNT} kopecks"
    if errors:
        raise InvalidArgument("the credit limit is not valid", errors)
    return amount


def to_advance(account: Account) -> Account:
    """Back to advance, at once: only when the balance is not negative."""
    if account.settlement_method == ADVANCE:
        raise NotAllowed("the account is on advance already", reason="ALREADY_ADVANCE")
    if account.balance < 0:
        raise NotAllowed(
            "the balance is negative: pay the debt first, then move to advance",
            reason="NEGATIVE_BALANCE",
        )
    return replace(account, settlement_method=ADVANCE, credit_limit=0)


def check_credit_request(account: Account, pending: bool) -> None:
    """Advance → credit opens a request; one at a time."""
    if account.settlement_method == CREDIT:
        raise NotAllowed("the account is on credit already", reason="ALREADY_CREDIT")
    if pending:
        raise NotAllowed(
            "a request to move this account to credit waits for the operator already",
            reason="REQUEST_PENDING",
        )


def to_credit(account: Account, credit_limit: int) -> Account:
    """The operator approved: credit with the limit asked for."""
    return replace(account, settlement_method=CREDIT, credit_limit=credit_limit)
