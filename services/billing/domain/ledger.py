"""The double-entry ledger: every movement of money is a posting whose lines sum to zero.

A line adds its (signed) amount to one account: positive adds to the balance, negative
takes from it. A company's money always moves against another of its accounts or one of
the operator's own accounts, so the sum of every entry ever written is zero and no kopeck
is created or lost:

- a payment: the company's account +x, the operator's cash −x;
- a charge (usage, subscription fee, operation fee): the account −x, the operator's
  revenue +x;
- a transfer: the donor −x, the recipient +x;
- a promised payment: the account +x, the operator's promised payments −x; its
  repayment the other way round.

Entries are never changed: a mistake is corrected by another posting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.kit.errors import InvalidArgument

CURRENCY = "RUB"
# One movement of more than a hundred million roubles is a mistake, not a payment.
MAX_AMOUNT = 10_000_000_000

PAYMENT = "payment"
USAGE = "usage"
SUBSCRIPTION_FEE = "subscription_fee"
OPERATION_FEE = "operation_fee"
TRANSFER = "transfer"
PROMISED_PAYMENT = "promised_payment"
PROMISED_REPAYMENT = "promised_payment_repayment"
KINDS: dict[str, str] = {
    PAYMENT: "платёж",
    USAGE: "начисление за услуги связи",
    SUBSCRIPTION_FEE: "абонентская плата",
    OPERATION_FEE: "плата за операцию",
    TRANSFER: "перенос средств",
    PROMISED_PAYMENT: "обещанный платёж",
    PROMISED_REPAYMENT: "погашение обещанного платежа",
}

# The operator's own accounts: the other side of every company movement.
CASH = "operator:cash"
REVENUE = "operator:revenue"
PROMISES = "operator:promised_payments"
OPERATOR_ACCOUNTS = (CASH, REVENUE, PROMISES)


def checked_amount(amount: int, currency: str = CURRENCY, field: str = "amount") -> int:
    """A positive whole number of kopecks in roubles, within reason."""
    errors: dict[str, str] = {}
    if currency not in ("", CURRENCY):
        errors[f"{field}.currency"] = f"amounts are in {CURRENCY}"
    if isinstance(amount, bool) or not isinstance(amount, int):
        errors[f"{field}.amount"] = "a whole number of kopecks"
    elif amount <= 0:
        errors[f"{field}.amount"] = "a positive number of kopecks"
    elif amount > MAX_AMOUNT:
        errors[f"{field}.amount"] = f"at most {MAX_AMOUNT} kopecks in one movement"
    if errors:
        raise InvalidArgument("the amount is not valid", errors)
    return amount


@dataclass(frozen=True)
class Line:
    account_id: str
    amount: int


@dataclass(frozen=True)
class Posting:
    """One movement: lines on distinct accounts, none zero, summing to zero."""

    id: str
    kind: str
    company_id: str
    ref: str
    at: datetime
    lines: tuple[Line, ...]
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind of posting {self.kind!r}")
        if len(self.lines) < 2 or any(line.amount == 0 for line in self.lines):
            raise ValueError("a posting has two or more lines, none of them zero")
        if sum(line.amount for line in self.lines) != 0:
            raise ValueError("the lines of a posting must sum to zero")
        if len({line.account_id for line in self.lines}) != len(self.lines):
            raise ValueError("a posting touches each account once")


@dataclass(frozen=True)
class Entry:
    """A line as written: on one account, with the balance it left."""

    id: str
    posting_id: str
    account_id: str
    company_id: str
    at: datetime
    kind: str
    amount: int
    balance_after: int
    ref: str
    description: str = ""


def _posting(
    posting_id: str,
    kind: str,
    company_id: str,
    ref: str,
    at: datetime,
    lines: Sequence[Line],
    description: str = "",
) -> Posting:
    return Posting(posting_id, kind, company_id, ref, at, tuple(lines), description)


def payment(
    posting_id: str, company_id: str, account_id: str, amount: int, ref: str, at: datetime
) -> Posting:
    return _posting(
        posting_id,
        PAYMENT,
        company_id,
        ref,
        at,
        [Line(account_id, amount), Line(CASH, -amount)],
        KINDS[PAYMENT],
    )


def charge(
    posting_id: str,
    kind: str,
    company_id: str,
    account_id: str,
    amount: int,
    ref: str,
    at: datetime,
    description: str = "",
) -> Posting:
    """Usage, a subscription fee or an operation fee taken from the account."""
    if kind not in (USAGE, SUBSCRIPTION_FEE, OPERATION_FEE):
        raise ValueError(f"{kind!r} is not a charge")
    return _posting(
        posting_id,
        kind,
        company_id,
        ref,
        at,
        [Line(account_id, -amount), Line(REVENUE, amount)],
        description or KINDS[kind],
    )


def transfer(
    posting_id: str,
    company_id: str,
    from_account_id: str,
    to_account_id: str,
    amount: int,
    ref: str,
    at: datetime,
) -> Posting:
    return _posting(
        posting_id,
        TRANSFER,
        company_id,
        ref,
        at,
        [Line(from_account_id, -amount), Line(to_account_id, amount)],
        KINDS[TRANSFER],
    )


def promise(
    posting_id: str, company_id: str, account_id: str, amount: int, ref: str, at: datetime
) -> Posting:
    return _posting(
        posting_id,
        PROMISED_PAYMENT,
        company_id,
        ref,
        at,
        [Line(account_id, amount), Line(PROMISES, -amount)],
        KINDS[PROMISED_PAYMENT],
    )


def repayment(
    posting_id: str, company_id: str, account_id: str, amount: int, ref: str, at: datetime
) -> Posting:
    return _posting(
        posting_id,
        PROMISED_REPAYMENT,
        company_id,
        ref,
        at,
        [Line(account_id, -amount), Line(PROMISES, amount)],
        KINDS[PROMISED_REPAYMENT],
    )
