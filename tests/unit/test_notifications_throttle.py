"""A rule runs at most so many times in any minute; the window slides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifications.domain.throttle import (
    MAX_FIRINGS_PER_MINUTE,
    WINDOW,
    ThrottleDecision,
    firings_to_keep,
    may_fire,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def seconds_ago(*seconds: float) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


def test_a_quiet_rule_may_fire():
    assert may_fire([], NOW) == ThrottleDecision(True)
    assert may_fire(seconds_ago(1, 2, 3), NOW, limit=4).may_run


def test_the_limit_is_reached_within_a_minute():
    decision = may_fire(seconds_ago(50, 30, 10), NOW, limit=3)
    assert not decision.may_run
    # The oldest of the three leaves the window 10 seconds from now.
    assert decision.retry_at == NOW + 10 * SECOND


def test_firings_older_than_a_minute_do_not_count():
    assert may_fire(seconds_ago(60, 61, 3600, 30), NOW, limit=2).may_run
    assert not may_fire(seconds_ago(59.999, 30), NOW, limit=2).may_run


def test_the_window_slides():
    # Three at the end of one clock minute and three at the start of the next: a fixed
    # clock-minute counter would let all six through; the sliding window does not.
    firings = [NOW + timedelta(seconds=s) for s in (57, 58, 59)]
    assert not may_fire(firings, NOW + 62 * SECOND, limit=3).may_run


def test_retry_at_is_when_the_count_falls_below_the_limit():
    firings = seconds_ago(55, 40, 20, 5)
    decision = may_fire(firings, NOW, limit=2)
    assert decision.retry_at == NOW - 20 * SECOND + WINDOW
    assert decision.retry_at is not None
    assert may_fire(firings, decision.retry_at, limit=2).may_run
    assert not may_fire(firings, decision.retry_at - SECOND, limit=2).may_run


def test_firings_stamped_in_the_future_still_count():
    assert not may_fire([NOW + 5 * SECOND, NOW], NOW, limit=2).may_run


def test_the_default_limit():
    assert may_fire(seconds_ago(*range(MAX_FIRINGS_PER_MINUTE - 1)), NOW).may_run
    assert not may_fire(seconds_ago(*range(MAX_FIRINGS_PER_MINUTE)), NOW).may_run


def test_a_limit_below_one_is_a_mistake():
    with pytest.raises(ValueError, match="at least once"):
        may_fire([], NOW, limit=0)
    with pytest.raises(ValueError, match="at least once"):
        firings_to_keep([], NOW, limit=0)


def test_only_what_can_matter_is_kept():
    kept = firings_to_keep(seconds_ago(90, 50, 40, 30, 10), NOW, limit=3)
    assert kept == seconds_ago(40, 30, 10)
    assert firings_to_keep(seconds_ago(61, 70), NOW) == []


offsets = st.lists(st.integers(min_value=-5_000, max_value=120_000), max_size=30)


@given(offsets, st.integers(min_value=1, max_value=10))
def test_decisions_agree_with_a_plain_count(milliseconds, limit):
    firings = [NOW - timedelta(milliseconds=ms) for ms in milliseconds]
    in_last_minute = sum(1 for at in firings if at > NOW - WINDOW)
    decision = may_fire(firings, NOW, limit=limit)
    assert decision.may_run is (in_last_minute < limit)
    assert (decision.retry_at is None) is decision.may_run
    if decision.retry_at is not None:
        assert NOW < decision.retry_at <= NOW + WINDOW + 5 * SECOND
        assert may_fire(firings, decision.retry_at, limit=limit).may_run


@given(offsets, st.integers(min_value=1, max_value=10))
def test_keeping_less_never_changes_the_next_decision(milliseconds, limit):
    firings = [NOW - timedelta(milliseconds=ms) for ms in milliseconds]
    kept = firings_to_keep(firings, NOW, limit=limit)
    assert len(kept) <= limit
    for later in (NOW, NOW + SECOND, NOW + 30 * SECOND, NOW + WINDOW):
        assert may_fire(kept, later, limit=limit) == may_fire(firings, later, limit=limit)


@given(st.integers(min_value=1, max_value=20), st.integers(min_value=1, max_value=300))
def test_a_steady_stream_runs_at_most_the_limit_in_any_minute(limit, events):
    # An event every half second; only the firings that ran are recorded, as the service does.
    kept: list[datetime] = []
    ran: list[datetime] = []
    for i in range(events):
        at = NOW + i * SECOND / 2
        if may_fire(kept, at, limit=limit).may_run:
            ran.append(at)
            kept = firings_to_keep([*kept, at], at, limit=limit)
    assert len(ran) >= min(events, limit)
    for end in ran:
        assert sum(1 for at in ran if end - WINDOW < at <= end) <= limit
