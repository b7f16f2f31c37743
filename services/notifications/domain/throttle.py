"""The throttle of an automation rule: no more than so many runs in any minute.

A rule can feed itself: "when a number is unblocked, block it" makes `number.blocked` and
`number.unblocked` events that fire other rules, and a batch of ten thousand numbers fires a
rule ten thousand times at once. Past the limit a firing is not run but recorded as
throttled, not queued for later: a loop must stop, not pile up work, and the rule's owners
see it in the rule's runs.

The window slides: at any moment, the firings of the last minute are counted, so no two
adjacent minutes can let twice the limit through, as fixed clock minutes would.

Only the firings that ran are recorded (`firings_to_keep` keeps what later decisions need):
a throttled firing does not extend the throttle, so a rule that calms down runs again within
a minute.

Pure rules: times come in as arguments; nothing here reads a clock or a store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)
MAX_FIRINGS_PER_MINUTE = 60


@dataclass(frozen=True)
class ThrottleDecision:
    may_run: bool
    # When the rule may run again (the oldest counted firing leaves the window); None when
    # it may run now.
    retry_at: datetime | None = None


def _in_window(firings: Iterable[datetime], now: datetime) -> list[datetime]:
    # A firing stamped after `now` (another worker's clock running ahead) still counts:
    # clock skew must not open the gate.
    return sorted(at for at in firings if at > now - WINDOW)


def may_fire(
    recent_firings: Iterable[datetime], now: datetime, *, limit: int = MAX_FIRINGS_PER_MINUTE
) -> ThrottleDecision:
    """Whether a rule that ran at `recent_firings` may run once more at `now`: yes while it
    has run fewer than `limit` times in the minute before `now`."""
    if limit < 1:
        raise ValueError("a rule may fire at least once a minute")
    counted = _in_window(recent_firings, now)
    if len(counted) < limit:
        return ThrottleDecision(True)
    # The firing that must leave the window for the count to fall below the limit.
    return ThrottleDecision(False, counted[len(counted) - limit] + WINDOW)


def firings_to_keep(
    recent_firings: Iterable[datetime], now: datetime, *, limit: int = MAX_FIRINGS_PER_MINUTE
) -> list[datetime]:
    """The firings worth storing after a decision at `now` (oldest first): those still in
    the window, at most `limit` newest — more can never change a decision."""
    if limit < 1:
        raise ValueError("a rule may fire at least once a minute")
    return _in_window(recent_firings, now)[-limit:]
