"""The company's people for the operator's systems (notifications tells them what
happened): who holds a permission, and how to write to them. Operator only: no user's
token is at hand when an event is handled."""

from __future__ import annotations

from services.identity.domain.directory import Person, checked_permission, person_of
from services.identity.domain.users import USER_ACTIVE
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps
from services.kit.context import Caller
from services.kit.errors import InvalidArgument, PermissionDenied
from services.kit.paging import decode_page_token, encode_page_token, page_size

MAX_USER_IDS = 500


class DirectoryCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access

    async def company_people(
        self,
        caller: Caller,
        company_id: str,
        permission: str,
        user_ids: list[str],
        size: int,
        token: str,
    ) -> tuple[list[Person], str]:
        """Active users of the company holding `permission` somewhere (all when empty), in
        id order; `user_ids`, when given, narrows them to those (one page)."""
        if not caller.is_operator:
            raise PermissionDenied("this is the operator's")
        if not company_id:
            raise InvalidArgument("name the company", {"company_id": "the company's id"})
        permission = checked_permission(permission)
        stores = self._deps.stores
        if user_ids:
            if len(user_ids) > MAX_USER_IDS:
                raise InvalidArgument("too many users", {"user_ids": f"at most {MAX_USER_IDS}"})
            found = [await stores.users.get(company_id, user_id) for user_id in user_ids]
            users, next_token = [u for u in found if u is not None], ""
        else:
            limit = page_size(size)
            after = decode_page_token(token)
            page = await stores.users.page(
                company_id, after=str(after) if after else None, limit=limit + 1, status=USER_ACTIVE
            )
            users = page[:limit]
            next_token = encode_page_token(users[-1].id) if len(page) > limit else ""
        locales = await stores.preferences.locales(company_id, [u.id for u in users])
        people = []
        for user in users:
            access = await self._access.access_of_user(user)
            person = person_of(user, access, permission, locales.get(user.id, ""))
            if person is not None:
                people.append(person)
        return people, next_token
