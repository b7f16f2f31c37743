"""Catalog's MongoDB documents ⇄ domain objects. Every query names the company."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.catalog.domain.hierarchy import Node, Tree

Doc = dict[str, Any]


def _node_doc(node: Node) -> Doc:
    doc: Doc = {
        "_id": node.id,
        "company_id": node.company_id,
        "parent_id": node.parent_id,
        "name": node.name,
        "kind": node.kind,
        "ancestors": list(node.ancestors),
    }
    if node.is_root:
        doc["root_of"] = node.company_id  # unique: one root per company
    return doc


def _node(doc: Doc) -> Node:
    return Node(
        id=doc["_id"],
        company_id=doc["company_id"],
        parent_id=doc["parent_id"],
        name=doc["name"],
        kind=doc["kind"],
        ancestors=tuple(doc["ancestors"]),
    )


class NodeStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._nodes = db["nodes"]
        self._numbers = db["numbers"]

    async def ensure_indexes(self) -> None:
        await self._nodes.create_index([("company_id", ASCENDING), ("ancestors", ASCENDING)])
        await self._nodes.create_index("root_of", unique=True, sparse=True)
        await self._numbers.create_index([("company_id", ASCENDING), ("node_id", ASCENDING)])

    async def tree(self, company_id: str, session: AsyncClientSession | None = None) -> Tree:
        docs = await self._nodes.find({"company_id": company_id}, session=session).to_list()
        return Tree(_node(doc) for doc in docs)

    async def insert(self, node: Node, session: AsyncClientSession) -> None:
        await self._nodes.insert_one(_node_doc(node), session=session)

    async def has_root(self, company_id: str, session: AsyncClientSession) -> bool:
        return await self._nodes.find_one({"root_of": company_id}, session=session) is not None

    async def save_all(self, nodes: list[Node], session: AsyncClientSession) -> None:
        await self._nodes.bulk_write(
            [ReplaceOne({"_id": n.id, "company_id": n.company_id}, _node_doc(n)) for n in nodes],
            session=session,
        )

    async def delete(self, company_id: str, node_id: str, session: AsyncClientSession) -> bool:
        result = await self._nodes.delete_one(
            {"_id": node_id, "company_id": company_id}, session=session
        )
        return result.deleted_count == 1

    async def numbers_per_node(
        self, company_id: str, session: AsyncClientSession | None = None
    ) -> dict[str, int]:
        """How many numbers hang directly on each node (served by the company+node index)."""
        pipeline = [
            {"$match": {"company_id": company_id}},
            {"$group": {"_id": "$node_id", "count": {"$sum": 1}}},
        ]
        cursor = await self._numbers.aggregate(pipeline, session=session)
        return {doc["_id"]: doc["count"] async for doc in cursor}

    async def move_numbers(
        self, company_id: str, from_node: str, to_node: Node, session: AsyncClientSession
    ) -> int:
        result = await self._numbers.update_many(
            {"company_id": company_id, "node_id": from_node},
            {"$set": {"node_id": to_node.id, "node_path": list(to_node.path)}},
            session=session,
        )
        return result.modified_count
