"""Tickets' copy of each company's contact e-mail, from vm.identity.company.created.v1:
where the answers go for a ticket whose author left no address of their own (a ticket
the system opened for a settlement-method change request)."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase


class CompanyContacts:
    def __init__(self, db: AsyncDatabase) -> None:
        self._contacts = db["company_contacts"]

    async def record(self, company_id: str, email: str, session: AsyncClientSession) -> None:
        await self._contacts.update_one(
            {"_id": company_id}, {"$set": {"email": email}}, upsert=True, session=session
        )

    async def email(self, company_id: str, session: AsyncClientSession | None = None) -> str:
        doc = await self._contacts.find_one({"_id": company_id}, session=session)
        return str(doc.get("email", "")) if doc else ""
