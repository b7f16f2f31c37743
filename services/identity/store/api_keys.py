"""The company's API keys: only the digest of each secret is stored, never the key."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.identity.domain import ApiKey, Assignment
from services.identity.store.mapping import Doc, to_doc

# `last_used_at` is written at most this often per key: an exchange per request burst
# must not become a write per request.
LAST_USED_PRECISION = timedelta(minutes=1)


def _key_doc(key: ApiKey) -> Doc:
    doc = to_doc(key)
    doc["assignment"] = {"role_id": key.assignment.role_id, "node_id": key.assignment.node_id}
    return doc


def _key(doc: Doc | None) -> ApiKey | None:
    if doc is None:
        return None
    fields = {k: v for k, v in doc.items() if k not in ("_id", "assignment")}
    return ApiKey(**fields, id=doc["_id"], assignment=Assignment(**doc["assignment"]))


class ApiKeyStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._keys = db["api_keys"]

    async def ensure_indexes(self) -> None:
        await self._keys.create_index(
            [("company_id", ASCENDING), ("revoked_at", ASCENDING), ("created_at", ASCENDING)]
        )

    async def insert(self, key: ApiKey, session: AsyncClientSession | None = None) -> None:
        await self._keys.insert_one(_key_doc(key), session=session)

    async def get(self, company_id: str, key_id: str) -> ApiKey | None:
        return _key(await self._keys.find_one({"_id": key_id, "company_id": company_id}))

    async def by_id(self, key_id: str) -> ApiKey | None:
        """A presented key names its id, unique across companies: this is how it finds its
        company (the secret is then checked against the digest)."""
        return _key(await self._keys.find_one({"_id": key_id}))

    async def active_of_company(self, company_id: str) -> list[ApiKey]:
        cursor = self._keys.find({"company_id": company_id, "revoked_at": None}).sort(
            "created_at", ASCENDING
        )
        return [key for doc in await cursor.to_list() if (key := _key(doc))]

    async def count_active(self, company_id: str) -> int:
        return await self._keys.count_documents({"company_id": company_id, "revoked_at": None})

    async def count_active_with_role(
        self, company_id: str, role_id: str, session: AsyncClientSession | None = None
    ) -> int:
        return await self._keys.count_documents(
            {"company_id": company_id, "revoked_at": None, "assignment.role_id": role_id},
            session=session,
        )

    async def revoke(self, key: ApiKey, session: AsyncClientSession | None = None) -> bool:
        """Saves the key's revocation unless it was already revoked (by a concurrent call)."""
        result = await self._keys.update_one(
            {"_id": key.id, "company_id": key.company_id, "revoked_at": None},
            {"$set": {"revoked_at": key.revoked_at}},
            session=session,
        )
        return result.modified_count == 1

    async def mark_used(self, key: ApiKey, now: datetime) -> None:
        await self._keys.update_one(
            {
                "_id": key.id,
                "company_id": key.company_id,
                "$or": [
                    {"last_used_at": None},
                    {"last_used_at": {"$lt": now - LAST_USED_PRECISION}},
                ],
            },
            {"$set": {"last_used_at": now}},
        )
