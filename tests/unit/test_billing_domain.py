"""Billing's rules without I/O: amounts, postings that sum to zero, when an account is
exhausted, settlement-method changes, promised payments' cap, limits reached."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.billing.domain import ledger
from services.billing.domain.accounts import (
    ADVANCE,
    CREDIT,
    Account,
    check_credit_request,
    checked_bill_delivery,
    exhausted,
    to_advance,
)
from services.billing.domain.limits import SpendingLimit, blocks_still_due, reached
from services.billing.domain.promised_payments import (
    CAP_CEILING,
    CAP_FLOOR,
    averaged_window,
    cap,
    check_promise,
)
from services.billing.domain.transfers import checked_transfer
from services.billing.domain.usage import parse_moment, record_problem
from services.kit.errors import (
    IdempotencyKeyReused,
    InvalidArgument,
    NotAllowed,
)
from services.kit.idempotency import check_replay
from services.kit.idempotency import request_digest as digest

NOW = datetime(2025, 5, 17, 12, 0, tzinfo=UTC)


def account(method: str = ADVANCE, balance: int = 0, limit: int = 0) -> Account:
    return Account("acc_1", "cmp_1", "ЛС-1", method, NOW, balance=balance, credit_limit=limit)


@pytest.mark.parametrize(
    ("amount", "currency", "field"),
    [
        (0, "RUB", "amount.amount"),
        (-1, "RUB", "amount.amount"),
        (ledger.MAX_AMOUNT + 1, "RUB", "amount.amount"),
        (1.5, "RUB", "amount.amount"),
        (True, "RUB", "amount.amount"),
        (100, "USD", "amount.currency"),
    ],
)
def test_bad_amounts_are_refused_with_their_field(amount, currency, field):
    with pytest.raises(InvalidArgument) as refused:
        ledger.checked_amount(amount, currency)
    assert field in refused.value.fields


def test_every_kind_of_posting_sums_to_zero():
    made = [
        ledger.payment("p1", "c", "a", 500, "bank", NOW),
        ledger.charge("p2", ledger.USAGE, "c", "a", 300, "batch", NOW),
        ledger.transfer("p3", "c", "a", "b", 200, "trf", NOW),
        ledger.promise("p4", "c", "a", 100, "prm", NOW),
        ledger.repayment("p5", "c", "a", 100, "prm", NOW),
    ]
    for posting in made:
        assert sum(line.amount for line in posting.lines) == 0


def test_a_posting_that_does_not_sum_to_zero_cannot_be_made():
    with pytest.raises(ValueError, match="sum to zero"):
        ledger.Posting(
            "p", ledger.PAYMENT, "c", "r", NOW, (ledger.Line("a", 5), ledger.Line("b", -4))
        )
    with pytest.raises(ValueError, match="each account once"):
        ledger.Posting(
            "p", ledger.PAYMENT, "c", "r", NOW, (ledger.Line("a", 5), ledger.Line("a", -5))
        )


@pytest.mark.parametrize(
    ("method", "balance", "limit", "expected"),
    [
        (ADVANCE, 1, 0, False),
        (ADVANCE, 0, 0, True),
        (ADVANCE, -1, 0, True),
        (CREDIT, -100, 100, False),
        (CREDIT, -101, 100, True),
    ],
)
def test_when_an_account_is_exhausted(method, balance, limit, expected):
    assert exhausted(method, balance, limit) is expected


def test_a_transfer_needs_two_accounts_and_a_good_amount():
    # a rule across two well-formed fields: 409 `not_allowed` (it was 422)
    with pytest.raises(NotAllowed) as same:
        checked_transfer("a", "a", 100, "RUB")
    assert same.value.reason == "SAME_ACCOUNT"
    with pytest.raises(InvalidArgument) as refused:
        checked_transfer("", "b", 0, "EUR")
    assert {"from_account_id", "amount.amount", "amount.currency"} <= set(refused.value.fields)


def test_a_key_with_another_body_is_refused():
    first = digest({"from": "a", "to": "b", "amount": 1})
    check_replay(first, digest({"amount": 1, "to": "b", "from": "a"}))  # order does not matter
    with pytest.raises(IdempotencyKeyReused):
        check_replay(first, digest({"from": "a", "to": "b", "amount": 2}))


def test_back_to_advance_needs_a_balance_not_negative():
    with pytest.raises(NotAllowed):
        to_advance(account(CREDIT, balance=-1, limit=100))
    moved = to_advance(account(CREDIT, balance=0, limit=100))
    assert (moved.settlement_method, moved.credit_limit) == (ADVANCE, 0)


def test_one_credit_request_at_a_time():
    with pytest.raises(NotAllowed):
        check_credit_request(account(ADVANCE), pending=True)
    with pytest.raises(NotAllowed):
        check_credit_request(account(CREDIT, limit=5), pending=False)


def test_the_promised_payment_cap_has_a_floor_and_a_ceiling():
    assert cap(0) == CAP_FLOOR
    assert cap(3 * 200_000) == 200_000
    assert cap(10**12) == CAP_CEILING
    assert averaged_window(NOW) == (
        datetime(2025, 2, 1, tzinfo=UTC),
        datetime(2025, 5, 1, tzinfo=UTC),
    )
    with pytest.raises(NotAllowed, match="at most"):
        check_promise(account(), CAP_FLOOR + 1, open_exists=False, allowed=CAP_FLOOR)
    with pytest.raises(NotAllowed):
        check_promise(account(), 1, open_exists=True, allowed=CAP_FLOOR)
    with pytest.raises(NotAllowed):
        check_promise(account(CREDIT, limit=5), 1, open_exists=False, allowed=CAP_FLOOR)


def test_a_limit_is_reached_once_when_spending_crosses_it():
    total = SpendingLimit("c", "79160000000", "total", 1_000, "block")
    data = SpendingLimit("c", "79160000000", "data", 500, "notify")
    assert reached([total, data], {"calls": 900}, {"calls": 999}) == []
    assert reached([total, data], {"calls": 900}, {"calls": 900, "data": 100}) == [total]
    assert reached([total, data], {"calls": 1_000}, {"calls": 1_000, "data": 600}) == [data]
    assert blocks_still_due([total], {"calls": 1_000}) is True
    assert blocks_still_due([total], {"calls": 999}) is False


def test_usage_records_and_periods_are_checked():
    assert record_problem("r1", "+7 916 123-45-67", "data", 100, "RUB", 5) is None
    assert record_problem("", "79161234567", "data", 1, "RUB", 1)
    assert record_problem("r", "12345", "data", 1, "RUB", 1)
    assert record_problem("r", "79161234567", "fax", 1, "RUB", 1)
    assert record_problem("r", "79161234567", "sms", -1, "RUB", 1)
    assert parse_moment("2025-03-01", "from") == datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(InvalidArgument):
        parse_moment("yesterday", "from")


def test_bill_delivery_is_checked():
    assert checked_bill_delivery("email", " buh@x.example ").address == "buh@x.example"
    with pytest.raises(InvalidArgument):
        checked_bill_delivery("email", "not-an-address")
    with pytest.raises(InvalidArgument):
        checked_bill_delivery("fax", "x")
