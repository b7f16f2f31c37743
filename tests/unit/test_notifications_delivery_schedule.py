"""Webhook retries: growing pauses for a day from the first attempt; a day of failures
disables the endpoint."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.delivery_schedule import (
    DELIVERY_WINDOW,
    DISABLE_AFTER,
    answered_ok,
    attempts_in_window,
    delay_before_attempt,
    failing_since,
    must_disable_endpoint,
    next_attempt_at,
)

FIRST = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)


def due(attempts_made: int, first: datetime = FIRST) -> datetime:
    at = next_attempt_at(attempts_made, first)
    assert at is not None
    return at


@pytest.mark.parametrize(
    ("attempts_made", "after_first"),
    [
        (1, 5 * SECOND),
        (2, 35 * SECOND),
        (3, 2 * MINUTE + 35 * SECOND),
        (4, 17 * MINUTE + 35 * SECOND),
        (5, HOUR + 17 * MINUTE + 35 * SECOND),
        (6, 4 * HOUR + 17 * MINUTE + 35 * SECOND),
        (7, 7 * HOUR + 17 * MINUTE + 35 * SECOND),
        (12, 22 * HOUR + 17 * MINUTE + 35 * SECOND),
    ],
)
def test_the_pauses_grow_then_settle_at_a_few_hours(attempts_made, after_first):
    assert next_attempt_at(attempts_made, FIRST) == FIRST + after_first


def test_the_first_pauses_are_those_of_standard_webhooks_practice():
    times = [due(n) for n in range(0, 6)]
    pauses = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert pauses == [5 * SECOND, 30 * SECOND, 2 * MINUTE, 15 * MINUTE, HOUR]


def test_after_a_day_the_delivery_has_failed_for_good():
    last = attempts_in_window()
    assert last == 13
    assert next_attempt_at(last - 1, FIRST) is not None
    assert next_attempt_at(last, FIRST) is None
    assert next_attempt_at(10**15, FIRST) is None  # never overflows


def test_no_attempt_is_made_without_one_made_before():
    assert next_attempt_at(0, FIRST) == FIRST
    assert delay_before_attempt(1) == timedelta(0)
    with pytest.raises(ValueError, match="from 1"):
        delay_before_attempt(0)


@given(st.integers(min_value=1, max_value=10**6))
def test_every_attempt_is_within_the_day_and_after_the_previous_one(attempts_made):
    at = next_attempt_at(attempts_made, FIRST)
    if at is None:
        assert attempts_made >= attempts_in_window()
        return
    assert FIRST < at <= FIRST + DELIVERY_WINDOW
    previous = next_attempt_at(attempts_made - 1, FIRST)
    assert previous is not None
    assert previous < at
    assert at - previous <= 3 * HOUR


def test_the_schedule_counts_from_the_first_attempt_not_the_last():
    # A late worker does not push the day back: the time depends on the first attempt only.
    assert due(3, FIRST + HOUR) == due(3) + HOUR


@pytest.mark.parametrize(
    ("status", "ok"),
    [
        *[(200, True), (201, True), (204, True), (299, True)],
        *[(None, False), (199, False), (300, False), (301, False), (302, False)],
        *[(400, False), (410, False), (429, False), (500, False), (503, False)],
    ],
)
def test_only_a_2xx_answer_delivers(status, ok):
    assert answered_ok(status) is ok


def test_a_streak_of_failures_starts_at_the_first_and_ends_with_a_success():
    since = failing_since(None, attempt_succeeded=False, attempt_at=FIRST)
    assert since == FIRST
    since = failing_since(since, attempt_succeeded=False, attempt_at=FIRST + HOUR)
    assert since == FIRST
    assert failing_since(since, attempt_succeeded=True, attempt_at=FIRST + 2 * HOUR) is None


def test_an_attempt_recorded_late_can_only_move_the_streak_earlier():
    earlier = FIRST - MINUTE
    assert failing_since(FIRST, attempt_succeeded=False, attempt_at=earlier) == earlier


def test_an_endpoint_failing_for_a_day_is_disabled():
    assert not must_disable_endpoint(None, FIRST)
    assert not must_disable_endpoint(FIRST, FIRST + DISABLE_AFTER - SECOND)
    assert must_disable_endpoint(FIRST, FIRST + DISABLE_AFTER)
    assert must_disable_endpoint(FIRST, FIRST + 3 * DISABLE_AFTER)


def test_one_success_in_the_day_keeps_the_endpoint_on():
    since = failing_since(FIRST, attempt_succeeded=True, attempt_at=FIRST + 23 * HOUR)
    assert not must_disable_endpoint(since, FIRST + 25 * HOUR)
