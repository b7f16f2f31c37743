"""Login throttling rules: delays per login, the lock per address, the known-address door."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.identity.domain import throttling
from services.identity.domain.throttling import (
    ADDRESS_LOCK,
    ADDRESS_MAX_FAILURES,
    LOGIN_DELAY_CAP,
    NO_WAIT,
    Failures,
    address_wait,
    login_delay,
    login_wait,
    retry_after_seconds,
    wait_before_attempt,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def login_failures(count: int, last_at: datetime = NOW) -> Failures:
    return Failures(count, last_at, last_at, throttling.login_expiry(last_at))


def address_failures(count: int, first_at: datetime = NOW, last_at: datetime = NOW) -> Failures:
    return Failures(count, first_at, last_at, throttling.address_expiry(first_at, last_at, count))


@pytest.mark.parametrize(
    ("failures", "seconds"),
    [(0, 0), (1, 0), (2, 0), (3, 1), (4, 2), (5, 4), (6, 8), (8, 32), (9, 60), (50, 60)],
)
def test_the_delay_starts_at_the_third_failure_and_doubles_up_to_a_minute(failures, seconds):
    assert login_delay(failures) == timedelta(seconds=seconds)


@given(st.integers(min_value=0, max_value=10**6))
def test_the_delay_never_exceeds_its_cap_and_never_shrinks_as_failures_grow(failures):
    delay = login_delay(failures)
    assert NO_WAIT <= delay <= LOGIN_DELAY_CAP
    assert login_delay(failures + 1) >= delay


def test_a_login_waits_what_is_left_of_its_delay():
    three = login_failures(3)
    assert login_wait(three, NOW) == SECOND
    assert login_wait(three, NOW + 0.4 * SECOND) == 0.6 * SECOND
    assert login_wait(three, NOW + SECOND) == NO_WAIT
    assert login_wait(None, NOW) == NO_WAIT


def test_a_login_count_is_forgotten_fifteen_minutes_after_its_last_failure():
    many = login_failures(40)
    assert login_wait(many, NOW + 30 * SECOND) == 30 * SECOND
    assert many.live(NOW + timedelta(minutes=14, seconds=59))
    assert not many.live(NOW + timedelta(minutes=15))


def test_an_address_locks_at_twenty_failures_for_fifteen_minutes():
    nineteen = address_failures(ADDRESS_MAX_FAILURES - 1)
    twenty = address_failures(ADDRESS_MAX_FAILURES)
    assert address_wait(nineteen, NOW) == NO_WAIT
    assert address_wait(twenty, NOW) == ADDRESS_LOCK
    assert address_wait(twenty, NOW + timedelta(minutes=10)) == timedelta(minutes=5)
    assert address_wait(twenty, NOW + ADDRESS_LOCK) == NO_WAIT


def test_an_address_window_is_fixed_by_its_first_failure():
    started = NOW - timedelta(minutes=14)
    nineteen = address_failures(ADDRESS_MAX_FAILURES - 1, first_at=started)
    assert nineteen.live(NOW)
    assert not nineteen.live(started + timedelta(minutes=15))
    locked = address_failures(ADDRESS_MAX_FAILURES, first_at=started, last_at=NOW)
    # once locked, the entry lives until the lock ends, past the window
    assert locked.expires_at == NOW + ADDRESS_LOCK


def test_a_throttled_address_waits_even_when_known():
    locked = address_failures(ADDRESS_MAX_FAILURES)
    wait = wait_before_attempt(login_failures(0), locked, known_address=True, now=NOW)
    assert wait == ADDRESS_LOCK


def test_a_known_address_skips_the_login_delay_but_others_wait():
    delayed = login_failures(9)
    assert wait_before_attempt(delayed, None, known_address=False, now=NOW) == LOGIN_DELAY_CAP
    assert wait_before_attempt(delayed, None, known_address=True, now=NOW) == NO_WAIT
    some = address_failures(5)
    assert wait_before_attempt(delayed, some, known_address=True, now=NOW) == NO_WAIT


def test_retry_after_rounds_up_so_an_obedient_client_is_never_early():
    assert retry_after_seconds(0.2 * SECOND) == 1
    assert retry_after_seconds(1.01 * SECOND) == 2
    assert retry_after_seconds(60 * SECOND) == 60
    assert retry_after_seconds(NO_WAIT) == 1


def test_counters_are_kept_under_digests_not_the_login_or_the_address():
    key = throttling.login_key("ivanov")
    assert "ivanov" not in key and key.startswith("login:")
    assert throttling.address_key("203.0.113.5") != throttling.address_key("203.0.113.6")
    assert "203.0.113.5" not in throttling.known_address_key("ivanov", "203.0.113.5")
    assert throttling.known_address_key("ivanov", "a") != throttling.known_address_key(
        "petrov", "a"
    )
