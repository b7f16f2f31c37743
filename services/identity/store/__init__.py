"""Identity's MongoDB documents ⇄ domain objects, one store per area.

Company-owned collections are always queried with the caller's company id; the few
lookups that cannot be (a login, a refresh token, a public registration) find by a
globally unique key, and the use case then works inside the company found.
"""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from services.identity.store.companies import CompanyStore, RegistrationStore
from services.identity.store.roles import RoleStore
from services.identity.store.sessions import SessionStore, SigningKeyStore
from services.identity.store.users import UserStore


@dataclass(frozen=True)
class Stores:
    companies: CompanyStore
    registrations: RegistrationStore
    users: UserStore
    roles: RoleStore
    sessions: SessionStore
    signing_keys: SigningKeyStore

    @classmethod
    def create(cls, db: AsyncDatabase) -> Stores:
        return cls(
            companies=CompanyStore(db),
            registrations=RegistrationStore(db),
            users=UserStore(db),
            roles=RoleStore(db),
            sessions=SessionStore(db),
            signing_keys=SigningKeyStore(db),
        )

    async def ensure_indexes(self) -> None:
        for store in self.__dict__.values():
            await store.ensure_indexes()
