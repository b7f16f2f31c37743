"""Notifications' copy of each company's contact e-mail, from
vm.identity.company.created.v1: where the notice of a webhook endpoint disabled after a day
of failures goes when none of the company's webhook owners has an address of their own
(service/owners_notice.py).
"""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

CONTACTS = "company_contacts"


class CompanyContacts:
    def __init__(self, db: AsyncDatabase) -> None:
        self._contacts = db[CONTACTS]

    async def record(self, company_id: str, email: str, session: AsyncClientSession) -> None:
        await self._contacts.update_one(
            {"_id": company_id}, {"$set": {"email": email}}, upsert=True, session=session
        )

    async def email(self, company_id: str) -> str:
        """The company's contact address; "" when none is known."""
        doc = await self._contacts.find_one({"_id": company_id})
        return str(doc.get("email", "")) if doc else ""
