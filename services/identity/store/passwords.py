"""Pending password resets. A reset is found by its id alone (the public confirm step has
nothing else); everything else names the company and the user."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.identity.domain import PasswordReset
from services.identity.store.mapping import from_doc, to_doc


class PasswordResetStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._resets = db["password_resets"]

    async def ensure_indexes(self) -> None:
        # Expired resets go away by themselves on a real MongoDB (the day's grace keeps
        # them for the per-user sending limit and for support questions).
        await self._resets.create_index("expires_at", expireAfterSeconds=24 * 3600)
        await self._resets.create_index(
            [("company_id", ASCENDING), ("user_id", ASCENDING), ("created_at", ASCENDING)]
        )

    async def insert(self, reset: PasswordReset) -> None:
        await self._resets.insert_one(to_doc(reset))

    async def get(self, reset_id: str) -> PasswordReset | None:
        return from_doc(PasswordReset, await self._resets.find_one({"_id": reset_id}))

    async def count_since(self, company_id: str, user_id: str, since: datetime) -> int:
        return await self._resets.count_documents(
            {"company_id": company_id, "user_id": user_id, "created_at": {"$gte": since}}
        )

    async def record_attempt(
        self,
        before: PasswordReset,
        after: PasswordReset,
        session: AsyncClientSession | None = None,
    ) -> bool:
        """Compare-and-set on the attempt counter: of two parallel guesses only one counts,
        and the other learns nothing about its code."""
        result = await self._resets.update_one(
            {"_id": before.id, "attempts": before.attempts, "completed": False},
            {"$set": {"attempts": after.attempts, "completed": after.completed}},
            session=session,
        )
        return result.modified_count == 1

    async def close_others(
        self, company_id: str, user_id: str, kept_id: str, session: AsyncClientSession
    ) -> None:
        """Once a reset succeeded, the user's other pending codes stop working."""
        await self._resets.update_many(
            {
                "company_id": company_id,
                "user_id": user_id,
                "_id": {"$ne": kept_id},
                "completed": False,
            },
            {"$set": {"completed": True}},
            session=session,
        )
