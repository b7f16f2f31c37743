"""API keys for the company's own integrations (api_keys.manage), and their exchange for
a short-lived access token (public: the key is the credential)."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity import domain
from services.identity.domain import ApiKey, Assignment
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps, identity_event
from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.errors import InvalidArgument, NotFound, Unauthenticated
from services.kit.events import Event
from vm.identity.events.v1 import events_pb2


@dataclass(frozen=True)
class ExchangedToken:
    access_token: str
    expires_in: int


class ApiKeyCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access

    async def _manager(self, caller: Caller) -> Access:
        access = await self._access.access_of_caller(caller)
        access.require("api_keys.manage")
        return access

    async def list_keys(self, caller: Caller) -> list[ApiKey]:
        access = await self._manager(caller)
        return await self._deps.stores.api_keys.active_of_company(access.company_id)

    async def create_key(
        self, caller: Caller, name: str, assignment: Assignment
    ) -> tuple[ApiKey, str]:
        """The new key and the key itself, which is never shown again."""
        access = await self._manager(caller)
        name = domain.checked_api_key_name(name)
        granted = await self._checked_assignment(access, assignment)
        stores = self._deps.stores
        domain.ensure_may_add_api_key(await stores.api_keys.count_active(access.company_id))
        key, secret_key = domain.new_api_key(
            company_id=access.company_id,
            name=name,
            assignment=granted,
            created_by=caller.user_id or "",
            now=self._deps.clock(),
        )

        async def write(session: AsyncClientSession) -> None:
            await stores.api_keys.insert(key, session)
            await self._deps.outbox.add(
                session, _key_changed("vm.identity.api_key.created.v1", key, key.created_by)
            )

        await self._deps.transactions.run(write)
        return key, secret_key

    async def revoke_key(self, caller: Caller, key_id: str) -> None:
        access = await self._manager(caller)
        stores = self._deps.stores
        key = await stores.api_keys.get(access.company_id, key_id)
        if key is None:
            raise NotFound("no such API key")
        hierarchy = await self._access.hierarchy(access.company_id)
        roles = await self._access.roles_of(access.company_id)
        key_access = domain.access_of(access.company_id, (key.assignment,), roles)
        domain.ensure_may_revoke_api_key(access, key_access, hierarchy.path)
        revoked = domain.revoked_api_key(key, self._deps.clock())
        actor = caller.user_id or ""

        async def write(session: AsyncClientSession) -> None:
            if not await stores.api_keys.revoke(revoked, session):
                raise NotFound("no such API key")  # revoked meanwhile by another request
            await self._deps.outbox.add(
                session, _key_changed("vm.identity.api_key.revoked.v1", revoked, actor)
            )

        await self._deps.transactions.run(write)

    async def exchange(self, presented: str) -> ExchangedToken:
        """A short-lived access token whose subject is the key, for a valid, unrevoked key."""
        key_id, secret = domain.split_api_key(presented)
        stores = self._deps.stores
        key = await stores.api_keys.by_id(key_id)
        if key is None:
            raise Unauthenticated("the API key is not valid")
        key.check_secret(secret)
        now = self._deps.clock()
        await stores.api_keys.mark_used(key, now)
        ttl = domain.API_KEY_TOKEN_TTL_SECONDS
        token = self._deps.tokens.issue(
            user_id=key.id,
            company_id=key.company_id,
            session_id=key.id,
            now=now,
            kind="api_key",
            ttl_seconds=ttl,
        )
        return ExchangedToken(access_token=token, expires_in=ttl)

    async def _checked_assignment(self, granter: Access, assignment: Assignment) -> Assignment:
        """A role of the company, in a known scope, granting nothing the granter lacks."""
        try:
            (checked,) = await self._access.checked_grant(granter, [assignment])
        except (InvalidArgument, NotFound) as error:
            raise domain.key_assignment_error(error) from error
        return checked


def _key_changed(event_type: str, key: ApiKey, actor: str) -> Event:
    return identity_event(
        event_type,
        events_pb2.ApiKeyChanged(
            company_id=key.company_id,
            api_key_id=key.id,
            name=key.name,
            assignment=events_pb2.Grant(
                role_id=key.assignment.role_id, node_id=key.assignment.node_id or ""
            ),
            actor=actor,
        ),
        company_id=key.company_id,
        subject=key.id,
    )
