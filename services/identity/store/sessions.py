"""Sessions (refresh tokens) and the token-signing keys."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.identity.domain import Session
from services.identity.store.mapping import Doc, from_doc, to_doc


class SessionStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._sessions = db["sessions"]

    async def ensure_indexes(self) -> None:
        await self._sessions.create_index("family_id")
        await self._sessions.create_index([("company_id", ASCENDING), ("user_id", ASCENDING)])

    async def insert(self, session_: Session, session: AsyncClientSession | None = None) -> None:
        await self._sessions.insert_one(to_doc(session_), session=session)

    async def get(self, session_id: str) -> Session | None:
        return from_doc(Session, await self._sessions.find_one({"_id": session_id}))

    async def is_live(self, company_id: str, session_id: str) -> bool:
        doc = await self._sessions.find_one(
            {"_id": session_id, "company_id": company_id, "revoked": False},
            projection={"_id": 1},
        )
        return doc is not None

    async def rotate(self, session_id: str, session: AsyncClientSession) -> bool:
        """Marks a session rotated unless it already was (a concurrent refresh won)."""
        result = await self._sessions.update_one(
            {"_id": session_id, "rotated": False, "revoked": False},
            {"$set": {"rotated": True}},
            session=session,
        )
        return result.modified_count == 1

    async def revoke_family(self, company_id: str, family_id: str) -> int:
        result = await self._sessions.update_many(
            {"family_id": family_id, "company_id": company_id, "revoked": False},
            {"$set": {"revoked": True}},
        )
        return result.modified_count

    async def revoke_user_sessions(
        self,
        company_id: str,
        user_id: str,
        *,
        except_family: str | None = None,
        session: AsyncClientSession | None = None,
    ) -> int:
        query: Doc = {"company_id": company_id, "user_id": user_id, "revoked": False}
        if except_family:
            query["family_id"] = {"$ne": except_family}
        result = await self._sessions.update_many(
            query, {"$set": {"revoked": True}}, session=session
        )
        return result.modified_count


class SigningKeyStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._keys = db["signing_keys"]

    async def ensure_indexes(self) -> None:
        await self._keys.create_index("slot", unique=True, sparse=True)

    async def all(self) -> list[Doc]:
        return await self._keys.find({}).sort("created_at", ASCENDING).to_list()

    async def insert_active(
        self, kid: str, private_pem: str, public_pem: str, now: datetime
    ) -> bool:
        """Adds the active key unless another replica just did (the unique `slot` decides)."""
        try:
            await self._keys.insert_one(
                {
                    "_id": kid,
                    "slot": "active",
                    "private_pem": private_pem,
                    "public_pem": public_pem,
                    "created_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True
