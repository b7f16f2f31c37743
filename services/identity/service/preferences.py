"""The caller's home screen: pinned functions and language ("My settings")."""

from __future__ import annotations

from services.identity import domain
from services.identity.domain import Preferences
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps
from services.kit.context import Caller


class PreferenceCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access

    async def get(self, caller: Caller) -> Preferences:
        user, _ = await self._access.caller(caller)
        stored = await self._deps.stores.preferences.get(user.company_id, user.id)
        return stored or domain.DEFAULT_PREFERENCES

    async def update(self, caller: Caller, pinned: list[str], locale: str) -> Preferences:
        user, _ = await self._access.caller(caller)
        preferences = domain.checked_preferences(pinned, locale)
        await self._deps.stores.preferences.save(
            user.company_id, user.id, preferences, self._deps.clock()
        )
        return preferences
