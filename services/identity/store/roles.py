"""The company's custom roles (the preset ones live in the domain, not in the database)."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.identity.domain import Role
from services.identity.store.mapping import Doc
from services.kit.errors import Conflict


def _role_doc(role: Role) -> Doc:
    return {
        "_id": role.id,
        "company_id": role.company_id,
        "name": role.name,
        "name_key": role.name.casefold(),
        "permissions": sorted(role.permissions),
    }


def _role(doc: Doc) -> Role:
    return Role(
        id=doc["_id"],
        name=doc["name"],
        permissions=frozenset(doc["permissions"]),
        preset=False,
        company_id=doc["company_id"],
    )


class RoleStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._roles = db["roles"]

    async def ensure_indexes(self) -> None:
        await self._roles.create_index(
            [("company_id", ASCENDING), ("name_key", ASCENDING)], unique=True
        )

    async def of_company(self, company_id: str) -> list[Role]:
        cursor = self._roles.find({"company_id": company_id}).sort("name_key", ASCENDING)
        return [_role(doc) for doc in await cursor.to_list()]

    async def get(self, company_id: str, role_id: str) -> Role | None:
        doc = await self._roles.find_one({"_id": role_id, "company_id": company_id})
        return None if doc is None else _role(doc)

    async def save(self, role: Role, session: AsyncClientSession | None = None) -> None:
        try:
            await self._roles.replace_one(
                {"_id": role.id, "company_id": role.company_id},
                _role_doc(role),
                upsert=True,
                session=session,
            )
        except DuplicateKeyError as error:
            raise Conflict("the company already has a role with this name") from error

    async def delete(self, company_id: str, role_id: str, session: AsyncClientSession) -> bool:
        result = await self._roles.delete_one(
            {"_id": role_id, "company_id": company_id}, session=session
        )
        return result.deleted_count == 1
