"""Whom billing tells and how a person reads a user: the company's main number and
contact e-mail, and users' logins — copies fed by identity's events."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase


class Contacts:
    def __init__(self, db: AsyncDatabase) -> None:
        self._companies = db["company_contacts"]
        self._users = db["user_names"]

    async def ensure_indexes(self) -> None:
        return None  # read by _id only

    async def record_company(
        self,
        company_id: str,
        name: str,
        main_number: str,
        contact_email: str,
        session: AsyncClientSession,
    ) -> None:
        await self._companies.update_one(
            {"_id": company_id},
            {"$set": {"name": name, "main_number": main_number, "contact_email": contact_email}},
            upsert=True,
            session=session,
        )

    async def get(self, company_id: str) -> dict[str, Any]:
        return await self._companies.find_one({"_id": company_id}) or {}

    async def record_user(
        self, company_id: str, user_id: str, login: str, session: AsyncClientSession
    ) -> None:
        await self._users.update_one(
            {"_id": user_id},
            {"$set": {"company_id": company_id, "login": login}},
            upsert=True,
            session=session,
        )

    async def user_name(self, user_id: str) -> str:
        doc = await self._users.find_one({"_id": user_id}) if user_id else None
        return doc["login"] if doc else user_id
