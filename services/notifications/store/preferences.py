"""Each user's notification choices: one document per user, named by the company too; a kind
never chosen is absent (its default holds)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.notifications.domain.people_notices import Choice

PREFERENCES = "notification_preferences"
Doc = dict[str, Any]


def _choices(doc: Doc | None) -> dict[str, Choice]:
    stored = (doc or {}).get("choices") or {}
    return {
        kind: Choice(kind, email=bool(c.get("email")), sms=bool(c.get("sms")))
        for kind, c in stored.items()
    }


class PreferenceStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._preferences = db[PREFERENCES]

    async def ensure_indexes(self) -> None:
        await self._preferences.create_index(
            [("company_id", ASCENDING), ("user_id", ASCENDING)], unique=True
        )

    async def get(self, company_id: str, user_id: str) -> dict[str, Choice]:
        doc = await self._preferences.find_one({"company_id": company_id, "user_id": user_id})
        return _choices(doc)

    async def of_users(
        self,
        company_id: str,
        user_ids: Sequence[str],
        session: AsyncClientSession | None = None,
    ) -> dict[str, dict[str, Choice]]:
        """The stored choices of these users (those who never chose are absent)."""
        cursor = self._preferences.find(
            {"company_id": company_id, "user_id": {"$in": list(user_ids)}}, session=session
        )
        return {doc["user_id"]: _choices(doc) async for doc in cursor}

    async def merge(
        self, company_id: str, user_id: str, choices: Mapping[str, Choice], now: datetime
    ) -> dict[str, Choice]:
        """Replaces the choices of the kinds given, keeps the others; returns them all."""
        fields: Doc = {
            f"choices.{kind}": {"email": c.email, "sms": c.sms} for kind, c in choices.items()
        }
        await self._preferences.update_one(
            {"company_id": company_id, "user_id": user_id},
            {"$set": {**fields, "updated_at": now}},
            upsert=True,  # the filter's company and user become the new document's
        )
        return await self.get(company_id, user_id)
