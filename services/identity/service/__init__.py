"""Identity's use cases, one class per area, wired together here.

Each loads through the stores, asks the domain, and saves with its outbox events in one
transaction; messages (SMS, e-mail) go out after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.identity.service.access import AccessCases
from services.identity.service.auth import AuthCases
from services.identity.service.base import Deps
from services.identity.service.companies import CompanyCases
from services.identity.service.profile import ProfileCases
from services.identity.service.roles import RoleCases
from services.identity.service.sessions import SessionIssuer
from services.identity.service.users import UserCases


@dataclass(frozen=True)
class IdentityCases:
    deps: Deps
    access: AccessCases
    auth: AuthCases
    companies: CompanyCases
    profile: ProfileCases
    roles: RoleCases
    users: UserCases

    @classmethod
    def create(cls, deps: Deps) -> IdentityCases:
        access = AccessCases(deps)
        sessions = SessionIssuer(deps)
        return cls(
            deps=deps,
            access=access,
            auth=AuthCases(deps, sessions),
            companies=CompanyCases(deps),
            profile=ProfileCases(deps, access),
            roles=RoleCases(deps, access),
            users=UserCases(deps, access),
        )
