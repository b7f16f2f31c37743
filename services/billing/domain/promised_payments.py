"""Promised payments: a short credit on an advance account.

At most one is open per account; it is capped by the account's average monthly charges
of the last three whole months, with a floor for new accounts (and a ceiling); it is
booked as money on the account and repaid automatically when its term (7 days) ends,
whatever the balance then is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.billing.domain.accounts import ADVANCE, Account
from services.kit.errors import NotAllowed

OPEN = "open"
REPAID = "repaid"
TERM = timedelta(days=7)
CAP_FLOOR = 50_000  # 500 roubles: what a new account may be promised
CAP_CEILING = 5_000_000  # 50,000 roubles
MONTHS_AVERAGED = 3
# The company is told this long before a promised payment is repaid (taken back).
REMIND_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class PromisedPayment:
    id: str
    company_id: str
    account_id: str
    amount: int
    status: str
    created_at: datetime
    due_at: datetime
    repaid_at: datetime | None = None


def month_start(moment: datetime, months_back: int = 0) -> datetime:
    year, month = moment.year, moment.month - months_back
    while month <= 0:
        month += 12
        year -= 1
    return datetime(year, month, 1, tzinfo=UTC)


def averaged_window(now: datetime) -> tuple[datetime, datetime]:
    """The last three whole months: [start of the month three back, start of this one)."""
    return month_start(now, MONTHS_AVERAGED), month_start(now)


def cap(charged_in_window: int) -> int:
    """`charged_in_window`: the kopecks charged over the averaged months (positive)."""
    average = charged_in_window // MONTHS_AVERAGED
    return min(CAP_CEILING, max(CAP_FLOOR, average))


def current_cap(account: Account, open_exists: bool, charged_in_window: int) -> int:
    if account.settlement_method != ADVANCE or open_exists:
        return 0
    return cap(charged_in_window)


def check_promise(account: Account, amount: int, open_exists: bool, allowed: int) -> None:
    if account.settlement_method != ADVANCE:
        raise NotAllowed(
            "promised payments are for advance accounts only", reason="NOT_ADVANCE_ACCOUNT"
        )
    if open_exists:
        raise NotAllowed(
            "a promised payment is open on this account already; it is repaid when it ends",
            reason="PROMISED_PAYMENT_OPEN",
        )
    if amount > allowed:
        raise NotAllowed(
            f"at most {allowed} kopecks may be promised on this account now",
            reason="PROMISED_PAYMENT_CAP",
        )


def new_promise(promise_id: str, account: Account, amount: int, now: datetime) -> PromisedPayment:
    return PromisedPayment(
        promise_id, account.company_id, account.id, amount, OPEN, now, now + TERM
    )


def reminder_from(due_at: datetime) -> datetime:
    """From when the company is told that the promised payment is about to be repaid."""
    return due_at - REMIND_BEFORE


def reminder_due(promise: PromisedPayment, now: datetime) -> bool:
    """An open promised payment within a day of its repayment (told once; the scheduler's
    store keeps which were told)."""
    return promise.status == OPEN and reminder_from(promise.due_at) <= now
