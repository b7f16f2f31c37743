"""Identity's MongoDB documents ⇄ domain objects, one store per area.

Company-owned collections are always queried with the caller's company id; the few
lookups that cannot be (a login, a refresh token, a public registration) find by a
globally unique key, and the use case then works inside the company found.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from services.identity.store.api_keys import ApiKeyStore
from services.identity.store.audit import AuditStore
from services.identity.store.companies import CompanyStore, RegistrationStore
from services.identity.store.hierarchy import HierarchyNodeStore
from services.identity.store.passwords import PasswordResetStore
from services.identity.store.preferences import PreferenceStore
from services.identity.store.roles import RoleStore
from services.identity.store.sessions import SessionStore, SigningKeyStore
from services.identity.store.throttling import ThrottleStore
from services.identity.store.two_factor import TwoFactorStore
from services.identity.store.users import UserStore


@dataclass(frozen=True)
class Stores:
    companies: CompanyStore
    registrations: RegistrationStore
    users: UserStore
    roles: RoleStore
    sessions: SessionStore
    signing_keys: SigningKeyStore
    password_resets: PasswordResetStore
    preferences: PreferenceStore
    audit: AuditStore
    api_keys: ApiKeyStore
    throttle: ThrottleStore
    two_factor: TwoFactorStore
    hierarchy: HierarchyNodeStore

    @classmethod
    def create(cls, db: AsyncDatabase) -> Stores:
        return cls(
            companies=CompanyStore(db),
            registrations=RegistrationStore(db),
            users=UserStore(db),
            roles=RoleStore(db),
            sessions=SessionStore(db),
            signing_keys=SigningKeyStore(db),
            password_resets=PasswordResetStore(db),
            preferences=PreferenceStore(db),
            audit=AuditStore(db),
            api_keys=ApiKeyStore(db),
            throttle=ThrottleStore(db),
            two_factor=TwoFactorStore(db),
            hierarchy=HierarchyNodeStore(db),
        )

    async def ensure_indexes(self) -> None:
        for store in self.__dict__.values():
            await store.ensure_indexes()
