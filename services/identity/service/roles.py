"""The permission catalogue, the preset roles and the company's custom roles."""

from __future__ import annotations

from dataclasses import replace

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity import domain
from services.identity.domain import Role
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps, identity_event
from services.kit.context import Caller
from services.kit.errors import NotAllowed, NotFound
from services.kit.events import Event
from services.kit.ids import new_id
from vm.identity.events.v1 import events_pb2


class RoleCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access

    async def list_roles(self, caller: Caller) -> list[Role]:
        await self._access.access_of_caller(caller)
        roles = await self._access.roles_of(caller.company_id or "")
        return list(roles.values())

    async def get_role(self, caller: Caller, role_id: str) -> Role:
        await self._access.access_of_caller(caller)
        role = (await self._access.roles_of(caller.company_id or "")).get(role_id)
        if role is None:
            raise NotFound("no such role")
        return role

    async def create_role(self, caller: Caller, name: str, permissions: list[str]) -> Role:
        author = await self._access.access_of_caller(caller)
        author.require("roles.manage")
        role = Role(
            id=new_id("rol"),
            name=domain.checked_role_name(name),
            permissions=domain.checked_role_permissions(permissions, author),
            company_id=author.company_id,
        )
        await self._save(role, "vm.identity.role.created.v1")
        return role

    async def update_role(
        self, caller: Caller, role_id: str, name: str | None, permissions: list[str] | None
    ) -> Role:
        author = await self._access.access_of_caller(caller)
        author.require("roles.manage")
        role = await self.get_role(caller, role_id)
        domain.ensure_custom(role)
        if name is not None:
            role = replace(role, name=domain.checked_role_name(name))
        if permissions is not None:
            # Everyone holding the role gets these: the author must hold them all.
            role = replace(role, permissions=domain.checked_role_permissions(permissions, author))
        await self._save(role, "vm.identity.role.updated.v1")
        return role

    async def delete_role(self, caller: Caller, role_id: str) -> None:
        author = await self._access.access_of_caller(caller)
        author.require("roles.manage")
        role = await self.get_role(caller, role_id)
        domain.ensure_custom(role)
        stores = self._deps.stores

        async def write(session: AsyncClientSession) -> None:
            if await stores.users.count_with_role(author.company_id, role.id, session):
                raise NotAllowed(
                    "the role is assigned to users; take it from them first", reason="ROLE_ASSIGNED"
                )
            if await stores.api_keys.count_active_with_role(author.company_id, role.id, session):
                raise NotAllowed(
                    "API keys hold the role; revoke them first", reason="ROLE_ASSIGNED"
                )
            await stores.roles.delete(author.company_id, role.id, session)
            await self._deps.outbox.add(session, _role_event("vm.identity.role.deleted.v1", role))

        await self._deps.transactions.run(write)
        self._access.forget_roles(author.company_id)

    async def _save(self, role: Role, event_type: str) -> None:
        async def write(session: AsyncClientSession) -> None:
            await self._deps.stores.roles.save(role, session)
            await self._deps.outbox.add(session, _role_event(event_type, role))

        await self._deps.transactions.run(write)
        self._access.forget_roles(role.company_id or "")


def _role_event(event_type: str, role: Role) -> Event:
    return identity_event(
        event_type,
        events_pb2.RoleChanged(
            company_id=role.company_id or "",
            role_id=role.id,
            name=role.name,
            permissions=sorted(role.permissions),
        ),
        company_id=role.company_id or "",
        subject=role.id,
    )
