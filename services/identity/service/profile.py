""" "My settings": the caller's own user."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.identity.domain import ApiKey, Company, User
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps
from services.kit.authz import Access
from services.kit.cache import SharedLoadCache
from services.kit.context import Caller
from services.kit.errors import Unauthenticated


@dataclass(frozen=True)
class Me:
    user: User | None  # None when the caller is an API key: then `api_key` says which
    company: Company
    access: Access
    api_key: ApiKey | None = None


# A company's details change rarely (never through this service), and /me is asked on
# every screen: keep them briefly instead of reading them each time.
COMPANY_CACHE_SECONDS = 30.0
COMPANY_CACHE_SIZE = 10_000


class ProfileCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access
        self._companies: SharedLoadCache[str, Company | None] = SharedLoadCache(
            max_entries=COMPANY_CACHE_SIZE
        )

    async def _company(self, company_id: str) -> Company | None:
        async def load() -> tuple[Company | None, float]:
            company = await self._deps.stores.companies.get(company_id)
            return company, COMPANY_CACHE_SECONDS if company is not None else 0.0

        return await self._companies.get(company_id, load)

    async def me(self, caller: Caller) -> Me:
        """The calling user, or the calling API key (its name, role and scope)."""
        who = (
            self._access.api_key_caller(caller)
            if caller.is_api_key
            else self._access.caller(caller)
        )
        (holder, access), company = await asyncio.gather(
            who, self._company(caller.company_id or "")
        )
        if company is None:
            raise Unauthenticated("the company no longer exists")
        if isinstance(holder, ApiKey):
            return Me(user=None, company=company, access=access, api_key=holder)
        return Me(user=holder, company=company, access=access)
