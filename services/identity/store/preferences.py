"""Each user's home-screen preferences: one document per user, named by the company too."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase

from services.identity.domain import Preferences


class PreferenceStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._preferences = db["preferences"]

    async def ensure_indexes(self) -> None:
        """Found by `_id` (the user's id) and the company: the default index serves."""

    async def get(self, company_id: str, user_id: str) -> Preferences | None:
        doc = await self._preferences.find_one({"_id": user_id, "company_id": company_id})
        if doc is None:
            return None
        return Preferences(pinned=tuple(doc["pinned"]), locale=doc["locale"])

    async def locales(self, company_id: str, user_ids: list[str]) -> dict[str, str]:
        """The language each of these users chose (those who never chose are absent)."""
        cursor = self._preferences.find(
            {"company_id": company_id, "_id": {"$in": user_ids}}, {"locale": 1}
        )
        return {doc["_id"]: doc.get("locale", "") async for doc in cursor}

    async def save(
        self, company_id: str, user_id: str, preferences: Preferences, now: datetime
    ) -> None:
        await self._preferences.replace_one(
            {"_id": user_id, "company_id": company_id},
            {
                "_id": user_id,
                "company_id": company_id,
                "pinned": list(preferences.pinned),
                "locale": preferences.locale,
                "updated_at": now,
            },
            upsert=True,
        )
