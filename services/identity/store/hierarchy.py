"""Identity's copy of the companies' hierarchy nodes (id and parent), fed by catalog's
node events: enough to check scoped assignments without asking catalog."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase


class HierarchyNodeStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._nodes = db["hierarchy_nodes"]

    async def ensure_indexes(self) -> None:
        await self._nodes.create_index([("company_id", ASCENDING), ("_id", ASCENDING)])

    async def parents(self, company_id: str) -> dict[str, str | None]:
        docs = await self._nodes.find(
            {"company_id": company_id}, projection={"parent_id": 1}
        ).to_list()
        return {doc["_id"]: doc.get("parent_id") for doc in docs}

    async def record(
        self, company_id: str, node_id: str, parent_id: str | None, session: AsyncClientSession
    ) -> None:
        await self._nodes.update_one(
            {"_id": node_id, "company_id": company_id},
            {"$set": {"parent_id": parent_id}},
            upsert=True,
            session=session,
        )

    async def forget(self, company_id: str, node_id: str, session: AsyncClientSession) -> None:
        await self._nodes.delete_one({"_id": node_id, "company_id": company_id}, session=session)
