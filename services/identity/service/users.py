"""The company's users and their role assignments (users.manage)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity import domain
from services.identity.domain import Assignment, User
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps, hash_password, identity_event
from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.errors import NotFound
from services.kit.events import Event
from services.kit.ids import new_id
from services.kit.paging import decode_page_token, encode_page_token, page_size
from vm.identity.events.v1 import events_pb2


class UserCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access

    async def _manager(self, caller: Caller) -> tuple[str, Access]:
        """The acting user's id (or API key's: a key may manage users if its role allows)
        and their access."""
        access = await self._access.access_of_caller(caller)
        access.require("users.manage")
        return caller.user_id or "", access

    async def _target(self, company_id: str, user_id: str) -> User:
        user = await self._deps.stores.users.get(company_id, user_id)
        if user is None:
            raise NotFound("no such user")
        return user

    async def list_users(
        self, caller: Caller, size: int, token: str, query: str = "", status: str = ""
    ) -> tuple[list[User], str]:
        _, access = await self._manager(caller)
        limit = page_size(size)
        users = await self._deps.stores.users.page(
            access.company_id,
            after=decode_page_token(token),
            limit=limit + 1,
            query=query[:100],
            status=status,
        )
        next_token = encode_page_token(users[limit - 1].id) if len(users) > limit else ""
        return users[:limit], next_token

    async def get_user(self, caller: Caller, user_id: str) -> User:
        _, access = await self._manager(caller)
        return await self._target(access.company_id, user_id)

    async def create_user(
        self,
        caller: Caller,
        *,
        login: str,
        full_name: str,
        email: str,
        password: str,
        assignments: Sequence[Assignment],
        phone: str = "",
    ) -> User:
        _, access = await self._manager(caller)
        fields = domain.checked_user_fields(
            login=login, full_name=full_name, email=email, phone=phone
        )
        domain.check_password_policy(password)
        granted = await self._checked_grant(access, assignments)
        user = User(
            id=new_id("usr"),
            company_id=access.company_id,
            login=fields["login"],
            full_name=fields["full_name"],
            email=fields["email"],
            phone=fields["phone"],
            password_hash=await hash_password(password),
            created_at=self._deps.clock(),
            assignments=granted,
        )
        await self._write(user, _user_created(user), insert=True)
        return user

    async def update_user(
        self,
        caller: Caller,
        user_id: str,
        *,
        full_name: str | None = None,
        email: str | None = None,
        status: str | None = None,
        phone: str | None = None,
    ) -> User:
        """Changes what is given (None: unchanged); an empty phone clears the user's."""
        actor, access = await self._manager(caller)
        target = await self._managed_target(access, user_id)
        fields = domain.checked_user_fields(full_name=full_name, email=email, phone=phone)
        updated = replace(target, **fields)
        if status is not None and status != target.status:
            domain.ensure_not_self(actor, target, "deactivate")
            await self._ensure_not_company_login(target, "deactivate")
            updated = domain.with_status(updated, status)
        await self._write(
            updated,
            _user_changed("vm.identity.user.updated.v1", updated),
            end_sessions=updated.status != domain.USER_ACTIVE,
        )
        return updated

    async def delete_user(self, caller: Caller, user_id: str) -> None:
        actor, access = await self._manager(caller)
        target = await self._managed_target(access, user_id)
        domain.ensure_not_self(actor, target, "delete")
        await self._ensure_not_company_login(target, "delete")
        stores = self._deps.stores

        async def write(session: AsyncClientSession) -> None:
            if not await stores.users.delete(target.company_id, target.id, session):
                raise NotFound("no such user")
            await stores.sessions.revoke_user_sessions(
                target.company_id, target.id, session=session
            )
            deleted = replace(target, status="")
            await self._deps.outbox.add(
                session, _user_changed("vm.identity.user.deleted.v1", deleted)
            )

        await self._deps.transactions.run(write)

    async def set_assignments(
        self, caller: Caller, user_id: str, assignments: Sequence[Assignment]
    ) -> User:
        _, access = await self._manager(caller)
        target = await self._managed_target(access, user_id)
        await self._ensure_not_company_login(target, "change the roles of")
        updated = replace(target, assignments=await self._checked_grant(access, assignments))
        await self._write(updated, _access_changed(updated))
        return updated

    async def _managed_target(self, manager: Access, user_id: str) -> User:
        target = await self._target(manager.company_id, user_id)
        hierarchy = await self._access.hierarchy(manager.company_id)
        domain.ensure_may_manage(manager, await self._access.access_of_user(target), hierarchy.path)
        return target

    async def _checked_grant(
        self, granter: Access, assignments: Sequence[Assignment]
    ) -> tuple[Assignment, ...]:
        return await self._access.checked_grant(granter, assignments)

    async def _ensure_not_company_login(self, target: User, action: str) -> None:
        company = await self._deps.stores.companies.get(target.company_id)
        if company is not None:
            domain.ensure_not_company_login(target, company.main_number, action)

    async def _write(
        self, user: User, event: Event, *, insert: bool = False, end_sessions: bool = False
    ) -> None:
        stores = self._deps.stores

        async def write(session: AsyncClientSession) -> None:
            if insert:
                await stores.users.insert(user, session)
            elif not await stores.users.replace(user, session):
                raise NotFound("no such user")
            if end_sessions:
                await stores.sessions.revoke_user_sessions(
                    user.company_id, user.id, session=session
                )
            await self._deps.outbox.add(session, event)

        await self._deps.transactions.run(write)


def _user_created(user: User) -> Event:
    return identity_event(
        "vm.identity.user.created.v1",
        events_pb2.UserCreated(
            company_id=user.company_id,
            user_id=user.id,
            login=user.login,
            role_ids=[a.role_id for a in user.assignments],
        ),
        company_id=user.company_id,
        subject=user.id,
    )


def _user_changed(event_type: str, user: User) -> Event:
    return identity_event(
        event_type,
        events_pb2.UserChanged(
            company_id=user.company_id, user_id=user.id, login=user.login, status=user.status
        ),
        company_id=user.company_id,
        subject=user.id,
    )


def _access_changed(user: User) -> Event:
    return identity_event(
        "vm.identity.user.access_changed.v1",
        events_pb2.UserAccessChanged(
            company_id=user.company_id,
            user_id=user.id,
            assignments=[
                events_pb2.Grant(role_id=a.role_id, node_id=a.node_id or "")
                for a in user.assignments
            ],
        ),
        company_id=user.company_id,
        subject=user.id,
    )
