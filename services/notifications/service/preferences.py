"""A user's own notification choices ("My settings"): every kind, with the defaults for
those never chosen (e-mail on, SMS off); the company and the user are the caller's."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from services.kit.context import Caller
from services.kit.errors import PermissionDenied, Unauthenticated
from services.notifications.domain.people_notices import Choice, checked_choices, every_choice
from services.notifications.store.preferences import PreferenceStore


def _now() -> datetime:
    return datetime.now(UTC)


def _person(caller: Caller) -> tuple[str, str]:
    """(company, user) of a person calling; an API key has no one to tell."""
    if caller.is_api_key:
        raise PermissionDenied("notification choices are a person's; an API key has none")
    if not caller.company_id or not caller.user_id:
        raise Unauthenticated("log in first")
    return caller.company_id, caller.user_id


class NotificationPreferences:
    def __init__(self, store: PreferenceStore, clock: Callable[[], datetime] = _now) -> None:
        self._store = store
        self._clock = clock

    async def mine(self, caller: Caller) -> list[Choice]:
        company_id, user_id = _person(caller)
        return every_choice(await self._store.get(company_id, user_id))

    async def choose(self, caller: Caller, choices: Iterable[Choice]) -> list[Choice]:
        """Replaces the choices of the kinds named; the others stay as they were."""
        company_id, user_id = _person(caller)
        wanted = checked_choices(choices)
        saved = await self._store.merge(company_id, user_id, wanted, self._clock())
        return every_choice(saved)
