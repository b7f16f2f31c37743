""" "My settings": the caller's own user."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.identity.domain import Company, User
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps
from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.errors import Unauthenticated


@dataclass(frozen=True)
class Me:
    user: User
    company: Company
    access: Access


class ProfileCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access

    async def me(self, caller: Caller) -> Me:
        (user, access), company = await asyncio.gather(
            self._access.caller(caller), self._deps.stores.companies.get(caller.company_id or "")
        )
        if company is None:
            raise Unauthenticated("the company no longer exists")
        return Me(user=user, company=company, access=access)
