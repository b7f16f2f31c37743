"""When a webhook delivery is tried again, when it has failed for good, and when its endpoint
is switched off.

The pauses follow the practice of the Standard Webhooks specification (and of the services
built on it): quick retries first, for an endpoint that blinked, then longer and longer
ones, for an endpoint that is down or being deployed, then one every few hours until a day
has passed since the first attempt. After that the delivery has failed for good; the
company can still send it again by hand (`POST …/deliveries/{id}/retry`).

Every attempt's time is counted from the first attempt, not from the previous one: a worker
that comes late does not push the whole schedule back, and the day is a day whatever the
workers were doing.

An endpoint that has answered nothing but failures for a day is disabled and its owners are
told: deliveries to it would only pile up, and a dead URL must not keep costing us retries
for every event of the company. One success anywhere in that day keeps it on.

Pure rules: times come in as arguments; nothing here reads a clock or a store.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# The pauses after the 1st, 2nd, … failed attempt.
FIRST_PAUSES: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=15),
    timedelta(hours=1),
)
# After the first pauses, one attempt every so often until the window closes.
STEADY_PAUSE = timedelta(hours=3)
# No attempt is made later than this after the first one.
DELIVERY_WINDOW = timedelta(hours=24)
# An endpoint failing without a single success for this long is disabled.
DISABLE_AFTER = timedelta(hours=24)

_FIRST_PAUSES_TOTAL = sum(FIRST_PAUSES, timedelta(0))
# Attempts past the first pauses that still fit in the window: more is never due.
_STEADY_ATTEMPTS_MAX = (DELIVERY_WINDOW - _FIRST_PAUSES_TOTAL) // STEADY_PAUSE


def delay_before_attempt(attempt: int) -> timedelta | None:
    """How long after the first attempt the `attempt`-th one (1 is the first) is due; None
    when it would fall outside the delivery window (there is no such attempt)."""
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    failures = attempt - 1
    if failures <= len(FIRST_PAUSES):
        return sum(FIRST_PAUSES[:failures], timedelta(0))
    steady = failures - len(FIRST_PAUSES)
    if steady > _STEADY_ATTEMPTS_MAX:  # also keeps a huge count from overflowing timedelta
        return None
    return _FIRST_PAUSES_TOTAL + steady * STEADY_PAUSE


def next_attempt_at(attempts_made: int, first_attempt_at: datetime) -> datetime | None:
    """When to try again after `attempts_made` failed attempts, the first made at
    `first_attempt_at`; None when the delivery window is over: it has failed for good."""
    if attempts_made < 1:
        return first_attempt_at
    delay = delay_before_attempt(attempts_made + 1)
    return None if delay is None else first_attempt_at + delay


def attempts_in_window() -> int:
    """How many attempts a delivery gets at most, the first included (shown in the console
    as "attempt 3 of N")."""
    return 1 + len(FIRST_PAUSES) + _STEADY_ATTEMPTS_MAX


def answered_ok(status_code: int | None) -> bool:
    """Whether an attempt delivered the event: any 2xx answer. No answer (a timeout, a
    refused connection), a redirect (never followed: the target was checked, the redirect's
    target was not) and every other status are failures."""
    return status_code is not None and 200 <= status_code <= 299


def failing_since(
    previous: datetime | None, *, attempt_succeeded: bool, attempt_at: datetime
) -> datetime | None:
    """Since when the endpoint has failed without a break, after one more attempt: a
    success ends the streak, the first failure after a success starts it."""
    if attempt_succeeded:
        return None
    # min(): attempts may be recorded out of order by concurrent workers.
    return attempt_at if previous is None else min(previous, attempt_at)


def must_disable_endpoint(failing_from: datetime | None, now: datetime) -> bool:
    """Whether an endpoint that has failed continuously since `failing_from` (None: its last
    attempt succeeded) is to be disabled now."""
    return failing_from is not None and now - failing_from >= DISABLE_AFTER
