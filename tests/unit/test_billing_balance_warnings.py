"""Billing's warnings without I/O: a fall below the low-balance threshold told once per
crossing, and a promised payment's reminder a day before it is repaid."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.billing.domain.low_balance import checked_threshold, fell_below
from services.billing.domain.promised_payments import (
    OPEN,
    REPAID,
    PromisedPayment,
    reminder_due,
)
from services.kit.errors import InvalidArgument

THRESHOLD = 100_000


def warnings(threshold: int, start: int, changes: list[int]) -> list[int]:
    """Applies each change to the balance as the ledger does; the indexes told."""
    told, balance = [], start
    for index, change in enumerate(changes):
        before, balance = balance, balance + change
        if fell_below(threshold, before, balance):
            told.append(index)
    return told


def test_a_fall_across_the_threshold_is_told():
    assert fell_below(THRESHOLD, 150_000, 99_999)
    assert fell_below(THRESHOLD, THRESHOLD, THRESHOLD - 1)


def test_staying_below_rising_or_landing_on_it_is_not_told():
    assert not fell_below(THRESHOLD, 90_000, 80_000)
    assert not fell_below(THRESHOLD, 80_000, 120_000)
    assert not fell_below(THRESHOLD, 150_000, THRESHOLD)


def test_a_threshold_of_zero_is_off():
    assert not fell_below(0, 10, -10_000)


def test_told_again_only_after_rising_back():
    # 150k → 90k (told) → 80k → 100k (back at it) → 50k (told again) → 40k
    changes = [-60_000, -10_000, 20_000, -50_000, -10_000]
    assert warnings(THRESHOLD, 150_000, changes) == [0, 3]


@given(
    threshold=st.integers(min_value=1, max_value=1_000_000),
    start=st.integers(min_value=-1_000_000, max_value=2_000_000),
    changes=st.lists(st.integers(min_value=-500_000, max_value=500_000), max_size=60),
)
def test_exactly_one_warning_per_downward_crossing(threshold, start, changes):
    balances = [start]
    for change in changes:
        balances.append(balances[-1] + change)
    told = warnings(threshold, start, changes)
    below = [b < threshold for b in balances]
    crossings = [i for i in range(len(changes)) if not below[i] and below[i + 1]]
    assert told == crossings
    # Between two warnings the balance was back at or above the threshold.
    for first, second in itertools.pairwise(told):
        assert any(not below[i] for i in range(first + 2, second + 1))


@pytest.mark.parametrize("amount", [-1, 10**13])
def test_a_threshold_out_of_range_is_refused(amount):
    with pytest.raises(InvalidArgument):
        checked_threshold(amount)


def test_a_threshold_in_another_currency_is_refused():
    with pytest.raises(InvalidArgument):
        checked_threshold(100, "USD")


def test_zero_and_positive_thresholds_are_kept():
    assert checked_threshold(0) == 0
    assert checked_threshold(50_000, "RUB") == 50_000


def _promise(due_at: datetime, status: str = OPEN) -> PromisedPayment:
    created = due_at - timedelta(days=7)
    return PromisedPayment("prm_1", "cmp_1", "acc_1", 30_000, status, created, due_at)


def test_a_promise_is_to_be_reminded_from_a_day_before_it_is_due():
    due = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert not reminder_due(_promise(due), due - timedelta(days=1, seconds=1))
    assert reminder_due(_promise(due), due - timedelta(days=1))
    assert reminder_due(_promise(due), due - timedelta(hours=2))


def test_a_repaid_promise_is_not_reminded():
    due = datetime(2026, 3, 10, 12, tzinfo=UTC)
    assert not reminder_due(_promise(due, REPAID), due - timedelta(hours=2))
