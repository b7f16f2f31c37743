"""The company's numbers and the operator's free pool, in MongoDB.

A number's `_id` is its MSISDN: a number belongs to one company at a time. Every query on
`numbers` takes a `Scope` (the company, and the subtrees the caller may see) and puts it
into the query itself, so no code path can forget it: a number of another company, or
outside the caller's subtrees, is simply not found. The only reads across companies are
the operator's uniqueness checks (`taken`), which say which values are taken and nothing
else. Indexes are shaped for a real MongoDB: equality fields first, then `_id`, the sort
key of the keyset pagination.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateMany
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.catalog.domain.hierarchy import Node
from services.catalog.domain.numbers import (
    Block,
    ConnectedService,
    Forwarding,
    Number,
    NumberFilter,
    Scope,
    TariffChoice,
)
from services.kit.errors import Conflict

Doc = dict[str, Any]
# insert_many per round trip: a batch of 10,000 goes in ten writes, one transaction.
INSERT_CHUNK = 1_000


def number_doc(number: Number) -> Doc:
    return {
        "_id": number.msisdn,
        "iccid": number.iccid,
        "company_id": number.company_id,
        "status": number.status,
        "node_id": number.node_id,
        "node_path": list(number.node_path),
        "tariff": {
            "id": number.tariff.id,
            "name": number.tariff.name,
            "settings": dict(number.tariff.settings),
        },
        "services": [
            {"id": s.id, "name": s.name, "connected_at": s.connected_at} for s in number.services
        ],
        "blocks": [{"type": b.type, "set_at": b.set_at} for b in number.blocks],
        "forwarding": [{"condition": f.condition, "target": f.target} for f in number.forwarding],
        "account_id": number.account_id,
        "label": number.label,
        "comment": number.comment,
        "cost_center": number.cost_center,
        "added_at": number.added_at,
    }


def number_from(doc: Doc) -> Number:
    tariff = doc.get("tariff") or {}
    return Number(
        msisdn=doc["_id"],
        iccid=doc["iccid"],
        company_id=doc["company_id"],
        status=doc["status"],
        node_id=doc["node_id"],
        node_path=tuple(doc.get("node_path", ())),
        tariff=TariffChoice(
            tariff.get("id", ""), tariff.get("name", ""), tariff.get("settings", {})
        ),
        added_at=doc["added_at"],
        services=tuple(ConnectedService(**s) for s in doc.get("services", ())),
        blocks=tuple(Block(**b) for b in doc.get("blocks", ())),
        forwarding=tuple(Forwarding(**f) for f in doc.get("forwarding", ())),
        account_id=doc.get("account_id", ""),
        label=doc.get("label", ""),
        comment=doc.get("comment", ""),
        cost_center=doc.get("cost_center", ""),
    )


def visible(scope: Scope) -> Doc:
    """The query's part that no read of a company's numbers goes without."""
    criteria: Doc = {"company_id": scope.company_id}
    if scope.nodes is not None:
        criteria["node_path"] = {"$in": sorted(scope.nodes)}
    return criteria


def filtered(scope: Scope, number_filter: NumberFilter) -> Doc:
    criteria = visible(scope)
    if number_filter.node_id:
        subtree = {"node_path": number_filter.node_id}
        if "node_path" in criteria:  # within the caller's subtrees and the asked one
            criteria["$and"] = [{"node_path": criteria.pop("node_path")}, subtree]
        else:
            criteria.update(subtree)
    if number_filter.status:
        criteria["status"] = number_filter.status
    if number_filter.tariff_id:
        criteria["tariff.id"] = number_filter.tariff_id
    if number_filter.service_id:
        criteria["services.id"] = number_filter.service_id
    if number_filter.query:
        criteria["$or"] = _text(number_filter)
    return criteria


def _text(number_filter: NumberFilter) -> list[Doc]:
    # The query is at most QUERY_MAX characters and escaped: a bounded, literal pattern.
    pattern = {"$regex": re.escape(number_filter.query), "$options": "i"}
    conditions: list[Doc] = [{"label": pattern}, {"comment": pattern}, {"cost_center": pattern}]
    prefix = number_filter.msisdn_prefix()
    if prefix:
        conditions.insert(0, {"_id": {"$regex": f"^{prefix}"}})
    return conditions


class NumberStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._numbers = db["numbers"]

    async def ensure_indexes(self) -> None:
        await self._numbers.create_index("iccid", unique=True)
        # The list and each of its filters: company, the filter's field, then the sort key.
        # (company_id, node_id) for the hierarchy's counts is NodeStore's.
        for key in ("node_path", "status", "tariff.id", "services.id"):
            await self._numbers.create_index(
                [("company_id", ASCENDING), (key, ASCENDING), ("_id", ASCENDING)]
            )
        await self._numbers.create_index([("company_id", ASCENDING), ("_id", ASCENDING)])

    # --- reads within a scope ---

    async def get(
        self, scope: Scope, msisdn: str, session: AsyncClientSession | None = None
    ) -> Number | None:
        doc = await self._numbers.find_one({"_id": msisdn, **visible(scope)}, session=session)
        return number_from(doc) if doc else None

    async def get_many(
        self, scope: Scope, msisdns: Sequence[str], session: AsyncClientSession | None = None
    ) -> list[Number]:
        cursor = self._numbers.find(
            {"_id": {"$in": list(msisdns)}, **visible(scope)}, session=session
        )
        return [number_from(doc) async for doc in cursor]

    async def page(
        self,
        scope: Scope,
        number_filter: NumberFilter,
        *,
        after: str | None,
        limit: int,
        session: AsyncClientSession | None = None,
    ) -> list[Number]:
        """One page in MSISDN order after `after` (keyset): numbers added or removed
        meanwhile never make a page repeat or skip another number."""
        criteria = filtered(scope, number_filter)
        if after:
            criteria["_id"] = {"$gt": after}
        cursor = self._numbers.find(criteria, session=session).sort("_id", ASCENDING).limit(limit)
        return [number_from(doc) async for doc in cursor]

    async def count_in(self, scope: Scope, node_id: str) -> int:
        """Numbers in the node's subtree, within the scope."""
        return await self._numbers.count_documents(filtered(scope, NumberFilter(node_id=node_id)))

    async def msisdns_in(self, scope: Scope, node_id: str) -> list[str]:
        """The subtree's numbers, in MSISDN order (a bulk operation's targets)."""
        cursor = self._numbers.find(
            filtered(scope, NumberFilter(node_id=node_id)), {"_id": 1}
        ).sort("_id", ASCENDING)
        return [doc["_id"] async for doc in cursor]

    # --- writes ---

    async def update_notes(
        self,
        scope: Scope,
        msisdn: str,
        notes: dict[str, str],
        session: AsyncClientSession | None = None,
    ) -> Number | None:
        """Label, comment, cost centre: one atomic write, only where the caller sees."""
        if not notes:
            return await self.get(scope, msisdn, session)
        doc = await self._numbers.find_one_and_update(
            {"_id": msisdn, **visible(scope)},
            {"$set": notes},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return number_from(doc) if doc else None

    async def move(
        self, scope: Scope, msisdns: Sequence[str], node: Node, session: AsyncClientSession
    ) -> int:
        result = await self._numbers.update_many(
            {"_id": {"$in": list(msisdns)}, **visible(scope)},
            {"$set": {"node_id": node.id, "node_path": list(node.path)}},
            session=session,
        )
        return result.modified_count

    async def follow_nodes(self, nodes: Iterable[Node], session: AsyncClientSession) -> int:
        """After nodes moved in the tree: their numbers take the nodes' new paths (numbers
        whose path is already right are not written, so a rename writes nothing)."""
        updates = [
            UpdateMany(
                {
                    "company_id": node.company_id,
                    "node_id": node.id,
                    "node_path": {"$ne": list(node.path)},
                },
                {"$set": {"node_path": list(node.path)}},
            )
            for node in nodes
        ]
        if not updates:
            return 0
        result = await self._numbers.bulk_write(updates, ordered=False, session=session)
        return result.modified_count

    async def insert_all(self, numbers: Sequence[Number], session: AsyncClientSession) -> None:
        for start in range(0, len(numbers), INSERT_CHUNK):
            chunk = numbers[start : start + INSERT_CHUNK]
            try:
                await self._numbers.insert_many([number_doc(n) for n in chunk], session=session)
            except (BulkWriteError, DuplicateKeyError) as error:
                raise _taken_meanwhile(error) from error

    # --- the operator's uniqueness checks (across companies, by design) ---

    async def taken(
        self, msisdns: Sequence[str], iccids: Sequence[str], session: AsyncClientSession
    ) -> tuple[set[str], set[str]]:
        """Which of these numbers and SIM cards some company already has."""
        return await _taken(self._numbers, msisdns, iccids, session)


class FreeNumberStore:
    """The operator's pool of numbers no company has; number replacement takes from it."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._free = db["free_numbers"]

    async def ensure_indexes(self) -> None:
        await self._free.create_index("iccid", unique=True)

    async def insert_all(
        self, numbers: Sequence[tuple[str, str]], added_at: datetime, session: AsyncClientSession
    ) -> None:
        for start in range(0, len(numbers), INSERT_CHUNK):
            docs = [
                {"_id": msisdn, "iccid": iccid, "added_at": added_at}
                for msisdn, iccid in numbers[start : start + INSERT_CHUNK]
            ]
            try:
                await self._free.insert_many(docs, session=session)
            except (BulkWriteError, DuplicateKeyError) as error:
                raise _taken_meanwhile(error) from error

    async def taken(
        self, msisdns: Sequence[str], iccids: Sequence[str], session: AsyncClientSession
    ) -> tuple[set[str], set[str]]:
        """Which of these numbers and SIM cards are in the pool."""
        return await _taken(self._free, msisdns, iccids, session)


async def _taken(
    collection: Any, msisdns: Sequence[str], iccids: Sequence[str], session: AsyncClientSession
) -> tuple[set[str], set[str]]:
    """Two queries, each on its unique index (_id, iccid), rather than one `$or`: the
    embedded database answered the `$or` by reading every number of every company, so
    adding 2,000 numbers took over a minute once 5,000 were there."""
    by_msisdn = collection.find({"_id": {"$in": list(msisdns)}}, {"_id": 1}, session=session)
    by_iccid = collection.find({"iccid": {"$in": list(iccids)}}, {"iccid": 1}, session=session)
    taken_msisdns = {doc["_id"] async for doc in by_msisdn}
    taken_iccids = {doc["iccid"] async for doc in by_iccid}
    return taken_msisdns, taken_iccids


def _taken_meanwhile(error: BulkWriteError | DuplicateKeyError) -> Conflict:
    """A value taken between the check and the write (a concurrent call): say which."""
    details = error.details or {}
    write_errors = details.get("writeErrors") or [details]
    key = (write_errors[0] or {}).get("keyValue") or {}
    named = ", ".join(str(value) for value in key.values())
    what = f": {named}" if named else ""
    return Conflict(
        f"a number or SIM card of the batch was given out meanwhile{what}",
        reason="ALREADY_EXISTS",
    )
