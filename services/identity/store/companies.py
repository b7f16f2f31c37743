"""Companies and the pending registrations of their global administrators."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.identity.domain import Company, Registration
from services.identity.store.mapping import from_doc, to_doc
from services.kit.errors import Conflict


class CompanyStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._companies = db["companies"]

    async def ensure_indexes(self) -> None:
        await self._companies.create_index("inn", unique=True)
        await self._companies.create_index("main_number", unique=True)

    async def insert(self, company: Company, session: AsyncClientSession) -> None:
        try:
            await self._companies.insert_one(to_doc(company), session=session)
        except DuplicateKeyError as error:
            raise Conflict("a company with this INN or main number already exists") from error

    async def get(self, company_id: str) -> Company | None:
        return from_doc(Company, await self._companies.find_one({"_id": company_id}))

    async def by_main_number(self, main_number: str) -> Company | None:
        return from_doc(Company, await self._companies.find_one({"main_number": main_number}))

    async def by_inn(self, inn: str) -> Company | None:
        return from_doc(Company, await self._companies.find_one({"inn": inn}))

    async def mark_registered(self, company_id: str, session: AsyncClientSession) -> bool:
        result = await self._companies.update_one(
            {"_id": company_id, "registered": False},
            {"$set": {"registered": True}},
            session=session,
        )
        return result.modified_count == 1


class RegistrationStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._registrations = db["registrations"]

    async def ensure_indexes(self) -> None:
        # Expired registrations go away by themselves on a real MongoDB.
        await self._registrations.create_index("expires_at", expireAfterSeconds=24 * 3600)

    async def insert(self, registration: Registration) -> None:
        await self._registrations.insert_one(to_doc(registration))

    async def get(self, registration_id: str) -> Registration | None:
        return from_doc(Registration, await self._registrations.find_one({"_id": registration_id}))

    async def record_attempt(
        self, before: Registration, after: Registration, session: AsyncClientSession | None = None
    ) -> bool:
        """Compare-and-set on the attempt counter: two parallel guesses cannot both count once."""
        result = await self._registrations.update_one(
            {"_id": before.id, "attempts": before.attempts, "completed": False},
            {"$set": {"attempts": after.attempts, "completed": after.completed}},
            session=session,
        )
        return result.modified_count == 1
