"""Identity's MongoDB documents ⇄ domain objects.

Company-owned collections are always queried with the caller's company id; the few
lookups that cannot be (login, a refresh token, a public registration) find by a
globally unique key and the service then works inside the company found.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.identity.domain import Assignment, Company, Registration, Session, User
from services.kit.errors import Conflict

Doc = dict[str, Any]


class IdentityStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._companies = db["companies"]
        self._registrations = db["registrations"]
        self._users = db["users"]
        self._sessions = db["sessions"]
        self._keys = db["signing_keys"]

    async def ensure_indexes(self) -> None:
        await self._companies.create_index("inn", unique=True)
        await self._companies.create_index("main_number", unique=True)
        await self._users.create_index("login", unique=True)
        await self._users.create_index([("company_id", ASCENDING), ("_id", ASCENDING)])
        await self._sessions.create_index("family_id")
        await self._keys.create_index("slot", unique=True, sparse=True)

    # ---------------------------------------------------------------- companies

    async def insert_company(self, company: Company, session: AsyncClientSession) -> None:
        try:
            await self._companies.insert_one(_to_doc(company), session=session)
        except DuplicateKeyError as error:
            raise Conflict("a company with this INN or main number already exists") from error

    async def company(
        self, company_id: str, session: AsyncClientSession | None = None
    ) -> Company | None:
        return _company(await self._companies.find_one({"_id": company_id}, session=session))

    async def company_by_main_number(self, main_number: str) -> Company | None:
        return _company(await self._companies.find_one({"main_number": main_number}))

    async def company_by_inn(self, inn: str) -> Company | None:
        return _company(await self._companies.find_one({"inn": inn}))

    async def mark_company_registered(self, company_id: str, session: AsyncClientSession) -> bool:
        result = await self._companies.update_one(
            {"_id": company_id, "registered": False},
            {"$set": {"registered": True}},
            session=session,
        )
        return result.modified_count == 1

    # ---------------------------------------------------------------- registrations

    async def insert_registration(self, registration: Registration) -> None:
        await self._registrations.insert_one(_to_doc(registration))

    async def registration(self, registration_id: str) -> Registration | None:
        doc = await self._registrations.find_one({"_id": registration_id})
        return None if doc is None else Registration(**{**_without_id(doc), "id": doc["_id"]})

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

    # ---------------------------------------------------------------- users

    async def insert_user(self, user: User, session: AsyncClientSession) -> None:
        try:
            await self._users.insert_one(_user_doc(user), session=session)
        except DuplicateKeyError as error:
            raise Conflict("this login is taken") from error

    async def user_for_login(self, login: str) -> User | None:
        return _user(await self._users.find_one({"login": login}))

    async def user(self, company_id: str, user_id: str) -> User | None:
        return _user(await self._users.find_one({"_id": user_id, "company_id": company_id}))

    # ---------------------------------------------------------------- sessions

    async def insert_session(
        self, session_: Session, session: AsyncClientSession | None = None
    ) -> None:
        await self._sessions.insert_one(_to_doc(session_), session=session)

    async def session(self, session_id: str) -> Session | None:
        doc = await self._sessions.find_one({"_id": session_id})
        return None if doc is None else Session(**{**_without_id(doc), "id": doc["_id"]})

    async def rotate_session(self, session_id: str, session: AsyncClientSession) -> bool:
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

    # ---------------------------------------------------------------- signing keys

    async def signing_keys(self) -> list[Doc]:
        return await self._keys.find({}).sort("created_at", ASCENDING).to_list()

    async def insert_active_key(
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


def _without_id(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k != "_id"}


def _to_doc(entity: object) -> Doc:
    doc = dict(entity.__dict__)
    doc["_id"] = doc.pop("id")
    return doc


def _company(doc: Doc | None) -> Company | None:
    return None if doc is None else Company(**{**_without_id(doc), "id": doc["_id"]})


def _user_doc(user: User) -> Doc:
    doc = _to_doc(user)
    doc["assignments"] = [{"role_id": a.role_id, "node_id": a.node_id} for a in user.assignments]
    return doc


def _user(doc: Doc | None) -> User | None:
    if doc is None:
        return None
    fields = _without_id(doc)
    fields["assignments"] = tuple(Assignment(**a) for a in doc.get("assignments", []))
    return User(**fields, id=doc["_id"])
