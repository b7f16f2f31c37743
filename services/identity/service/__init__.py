"""Identity's use cases, one class per area, wired together here.

Each loads through the stores, asks the domain, and saves with its outbox events in one
transaction; messages (SMS, e-mail) go out after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.identity.service.access import AccessCases
from services.identity.service.api_keys import ApiKeyCases
from services.identity.service.audit import AuditCases
from services.identity.service.auth import AuthCases
from services.identity.service.base import Deps
from services.identity.service.companies import CompanyCases
from services.identity.service.passwords import PasswordCases
from services.identity.service.preferences import PreferenceCases
from services.identity.service.profile import ProfileCases
from services.identity.service.roles import RoleCases
from services.identity.service.sessions import SessionIssuer
from services.identity.service.two_factor import TwoFactorCases
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
    passwords: PasswordCases
    preferences: PreferenceCases
    audit: AuditCases
    api_keys: ApiKeyCases
    two_factor: TwoFactorCases

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
            passwords=PasswordCases(deps, access),
            preferences=PreferenceCases(deps, access),
            audit=AuditCases(deps, access),
            api_keys=ApiKeyCases(deps, access),
            two_factor=TwoFactorCases(deps, access),
        )
