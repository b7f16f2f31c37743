"""Who the caller is and what they may do: identity answers it for its own methods and,
through TrustService.GetCallerAccess, for every other service."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.identity import domain
from services.identity.domain import PRESET_ROLES, ApiKey, Assignment, Role, User
from services.identity.service.base import Deps
from services.kit.authz import Access
from services.kit.cache import SharedLoadCache
from services.kit.context import Caller
from services.kit.errors import (
    InvalidArgument,
    NotAllowed,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)


@dataclass(frozen=True)
class Hierarchy:
    """The company's hierarchy nodes as identity knows them, for scoped assignments.

    Identity learns nodes (and their parents) from catalog's node events, so a scope's
    subtree is known here without asking catalog; the copy trails catalog by the events'
    delay (a node created a moment ago may not be assignable for that moment)."""

    parents: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def nodes(self) -> frozenset[str]:
        return frozenset(self.parents)

    def path(self, node_id: str) -> Sequence[str]:
        """The node's ancestors, root first, and the node itself."""
        chain: list[str] = []
        current: str | None = node_id
        while current is not None and current not in chain and len(chain) < 64:
            chain.append(current)
            current = self.parents.get(current)
        return tuple(reversed(chain))


ROLES_CACHE_SECONDS = 5.0
ROLES_CACHE_SIZE = 10_000
# A rule's token lives long enough for one run of its actions, and no longer: the user's
# access is asked again at the next run.
RULE_TOKEN_TTL_SECONDS = 300


@dataclass(frozen=True)
class RuleToken:
    access_token: str
    expires_in: int


class AccessCases:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._roles: SharedLoadCache[str, dict[str, Role]] = SharedLoadCache(
            max_entries=ROLES_CACHE_SIZE
        )

    async def roles_of(self, company_id: str) -> dict[str, Role]:
        """Preset and custom roles. Custom ones are kept for a few seconds (every call of a
        custom-role holder needs them); this replica forgets them at once when it changes
        them, the others within ROLES_CACHE_SECONDS — as long as services trust an answer
        about a caller's access anyway."""

        async def load() -> tuple[dict[str, Role], float]:
            custom = await self._deps.stores.roles.of_company(company_id)
            return {**PRESET_ROLES, **{role.id: role for role in custom}}, ROLES_CACHE_SECONDS

        return await self._roles.get(company_id, load)

    def forget_roles(self, company_id: str) -> None:
        self._roles.forget(company_id)

    async def access_of_user(self, user: User) -> Access:
        if all(a.role_id in PRESET_ROLES for a in user.assignments):
            roles: dict[str, Role] = PRESET_ROLES  # no custom role: spare the query
        else:
            roles = await self.roles_of(user.company_id)
        return domain.access_of(user.company_id, user.assignments, roles)

    async def caller(self, caller: Caller) -> tuple[User, Access]:
        """The calling user and their access; UNAUTHENTICATED once their session ended or
        they were deactivated or deleted (their access token may not have expired yet).

        A person's functions only: an API key is refused here. Where a key may act too
        (whatever its role allows), use `access_of_caller`."""
        if caller.is_api_key:
            raise PermissionDenied("an API key cannot do this; it is for people who log in")
        company_id, user_id = caller.company_id or "", caller.user_id or ""
        user, live = await asyncio.gather(
            self._deps.stores.users.get(company_id, user_id),
            self._session_live(caller),
        )
        if user is None or not live:
            raise Unauthenticated("the session has ended; log in again")
        user.ensure_can_log_in()
        return user, await self.access_of_user(user)

    async def _session_live(self, caller: Caller) -> bool:
        if caller.rule_id:
            # A rule's token belongs to no session (the rule runs while its owner is logged
            # out); it is short-lived, and the user must still be active (`caller`).
            return True
        return await self._deps.stores.sessions.is_live(
            caller.company_id or "", caller.session_id or ""
        )

    async def issue_rule_token(self, company_id: str, user_id: str, rule_id: str) -> RuleToken:
        """The operator's (the notifications service's): a token of the user acting for
        their automation rule, for an active user only."""
        if not rule_id.strip():
            raise InvalidArgument("the rule's id is needed", {"rule_id": "the rule's id"})
        user = await self._deps.stores.users.get(company_id, user_id)
        if user is None:
            raise NotFound("no such user")
        if user.status != domain.USER_ACTIVE:
            raise NotAllowed("the user is not active", reason="USER_NOT_ACTIVE")
        token = self._deps.tokens.issue(
            user_id=user.id,
            company_id=user.company_id,
            session_id=rule_id,  # no session: the rule's calls share the services' cache
            now=self._deps.clock(),
            ttl_seconds=RULE_TOKEN_TTL_SECONDS,
            rule_id=rule_id,
        )
        return RuleToken(token, RULE_TOKEN_TTL_SECONDS)

    async def access_of_caller(self, caller: Caller) -> Access:
        """What the caller may do, be it a user or one of the company's API keys."""
        if caller.is_api_key:
            _, access = await self.api_key_caller(caller)
        else:
            _, access = await self.caller(caller)
        return access

    async def api_key_caller(self, caller: Caller) -> tuple[ApiKey, Access]:
        """The calling API key and its access (its one assignment); UNAUTHENTICATED once it
        is revoked, at once, though the access token it was exchanged for lives on."""
        key = await self._deps.stores.api_keys.get(caller.company_id or "", caller.user_id or "")
        if key is None:
            raise Unauthenticated("the API key is not valid")
        key.ensure_active()
        if key.assignment.role_id in PRESET_ROLES:
            roles: dict[str, Role] = PRESET_ROLES  # no custom role: spare the query
        else:
            roles = await self.roles_of(key.company_id)
        return key, domain.access_of(key.company_id, (key.assignment,), roles)

    async def checked_grant(
        self, granter: Access, assignments: Sequence[Assignment]
    ) -> tuple[Assignment, ...]:
        """Assignments (of a user or an API key) that name the company's roles and nodes
        and grant nothing the granter does not hold (no escalation)."""
        roles = await self.roles_of(granter.company_id)
        hierarchy = await self.hierarchy(granter.company_id)
        checked = domain.checked_assignments(assignments, roles, hierarchy.nodes)
        granted = domain.access_of(granter.company_id, checked, roles)
        domain.ensure_may_grant(granter, granted, hierarchy.path)
        return checked

    async def hierarchy(self, company_id: str) -> Hierarchy:
        return Hierarchy(await self._deps.stores.hierarchy.parents(company_id))
