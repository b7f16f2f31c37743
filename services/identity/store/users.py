"""The company's users. Every query names the company: another company's user is absent."""

from __future__ import annotations

import re
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.identity.domain import Assignment, User
from services.identity.store.mapping import Doc, to_doc
from services.kit.errors import Conflict
from services.kit.keyset import id_page_matching_any
from services.kit.phone import normalize_msisdn


def searched_fields(query: str) -> list[Doc]:
    """What a search of the users matches, one field each: the words anywhere in the login,
    the full name or the e-mail, case aside; and a phone number's digits anywhere in the
    user's phone (a whole number in any usual form, 8 916… or +7 (916)…, as stored)."""
    pattern = {"$regex": re.escape(query.strip()), "$options": "i"}
    fields: list[Doc] = [{"login": pattern}, {"full_name": pattern}, {"email": pattern}]
    digits = normalize_msisdn(query) or re.sub(r"[\s()+-]", "", query)
    if digits.isascii() and digits.isdigit():
        fields.append({"phone": {"$regex": re.escape(digits)}})
    return fields


def _user_doc(user: User) -> Doc:
    doc = to_doc(user)
    doc["assignments"] = [{"role_id": a.role_id, "node_id": a.node_id} for a in user.assignments]
    return doc


def _user(doc: Doc | None) -> User | None:
    if doc is None:
        return None
    fields: dict[str, Any] = {k: v for k, v in doc.items() if k != "_id"}
    fields["assignments"] = tuple(Assignment(**a) for a in doc.get("assignments", []))
    return User(**fields, id=doc["_id"])


class UserStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._users = db["users"]

    async def ensure_indexes(self) -> None:
        await self._users.create_index("login", unique=True)
        await self._users.create_index([("company_id", ASCENDING), ("_id", ASCENDING)])
        await self._users.create_index(
            [("company_id", ASCENDING), ("assignments.role_id", ASCENDING)]
        )

    async def insert(self, user: User, session: AsyncClientSession | None = None) -> None:
        try:
            await self._users.insert_one(_user_doc(user), session=session)
        except DuplicateKeyError as error:
            raise Conflict("this login is taken") from error

    async def by_login(self, login: str) -> User | None:
        """Logins are unique across companies: this is how a login finds its company."""
        return _user(await self._users.find_one({"login": login}))

    async def get(self, company_id: str, user_id: str) -> User | None:
        return _user(await self._users.find_one({"_id": user_id, "company_id": company_id}))

    async def page(
        self, company_id: str, *, after: str | None, limit: int, query: str = "", status: str = ""
    ) -> list[User]:
        """One page in id order (keyset): stable while users are added or removed. A search
        reads each field it may match on its own and merges them (searched_fields): beside
        a top-level `$or` of the fields the embedded database would read every company's
        users."""
        criteria: Doc = {"company_id": company_id}
        if after:
            criteria["_id"] = {"$gt": after}
        if status:
            criteria["status"] = status
        fields = searched_fields(query) if query.strip() else [{}]
        docs = await id_page_matching_any(
            self._users, criteria, fields, descending=False, limit=limit
        )
        return [user for doc in docs if (user := _user(doc))]

    async def replace(self, user: User, session: AsyncClientSession | None = None) -> bool:
        try:
            result = await self._users.replace_one(
                {"_id": user.id, "company_id": user.company_id}, _user_doc(user), session=session
            )
        except DuplicateKeyError as error:
            raise Conflict("this login is taken") from error
        return result.matched_count == 1

    async def set_password_hash(
        self, company_id: str, user_id: str, password_hash: str, session: AsyncClientSession
    ) -> bool:
        """Only the hash changes: an edit of the user made meanwhile is kept."""
        result = await self._users.update_one(
            {"_id": user_id, "company_id": company_id},
            {"$set": {"password_hash": password_hash}},
            session=session,
        )
        return result.matched_count == 1

    async def set_two_factor_enabled(
        self, company_id: str, user_id: str, enabled: bool, session: AsyncClientSession
    ) -> bool:
        """Only the flag changes: an edit of the user made meanwhile is kept."""
        result = await self._users.update_one(
            {"_id": user_id, "company_id": company_id},
            {"$set": {"two_factor_enabled": enabled}},
            session=session,
        )
        return result.matched_count == 1

    async def delete(
        self, company_id: str, user_id: str, session: AsyncClientSession | None = None
    ) -> bool:
        result = await self._users.delete_one(
            {"_id": user_id, "company_id": company_id}, session=session
        )
        return result.deleted_count == 1

    async def count_with_role(
        self, company_id: str, role_id: str, session: AsyncClientSession | None = None
    ) -> int:
        return await self._users.count_documents(
            {"company_id": company_id, "assignments.role_id": role_id}, session=session
        )
