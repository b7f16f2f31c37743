"""The operation-results journal in MongoDB.

`journal`: one document per operation of any service, `_id` its id, with the fields the
lists filter and sort on (company, type, status, created_by, permission, created_at) and
the operation as its owner last told it (`operation`, the message as a dict).
`journal_results`: one per target of an operation, `_id` "<operation>:<target>", `seq`
its place in the request when the owner said it. A decided result is written as told; a
pending one never overwrites a result already decided.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.documents.domain.journal import Progress
from services.kit.keyset import NEWEST_CREATED_FIRST, KeysetOrder, keyset_page
from services.kit.operation_status import CANCELLED, PENDING, status_name
from vm.common.v1 import common_pb2

Doc = dict[str, Any]
Session = AsyncClientSession | None


def _moment(op: common_pb2.Operation, name: str) -> datetime | None:
    return getattr(op, name).ToDatetime(tzinfo=UTC) if op.HasField(name) else None


def _entry(op: common_pb2.Operation) -> Doc:
    return {
        "company_id": op.company_id,
        "service": op.service,
        "type": op.type,
        "status": status_name(op.status),
        "done": op.done,
        "created_by": op.created_by,
        "permission": op.permission,
        "created_at": _moment(op, "created_at") or datetime.now(UTC),
        "operation": json_format.MessageToDict(op, preserving_proto_field_name=True),
    }


def operation_from(doc: Doc) -> common_pb2.Operation:
    return json_format.ParseDict(doc["operation"], common_pb2.Operation())


def _result(doc: Doc) -> common_pb2.OperationTargetResult:
    result = common_pb2.OperationTargetResult(
        target=doc["target"],
        status=doc["status"],
        code=doc.get("code", ""),
        detail=doc.get("detail", ""),
        seq=doc.get("seq", 0),
    )
    if doc.get("decided_at"):
        result.decided_at.FromDatetime(doc["decided_at"])
    return result


# A journal's results in the order they were recorded.
SEQUENCE = KeysetOrder("seq", descending=False)


class JournalStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._entries = db["journal"]
        self._results = db["journal_results"]

    async def ensure_indexes(self) -> None:
        await self._entries.create_index(
            [("company_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self._results.create_index(
            [
                ("company_id", ASCENDING),
                ("operation_id", ASCENDING),
                ("seq", ASCENDING),
                ("_id", ASCENDING),
            ]
        )

    # --- what the updates write ---

    async def held(self, operation_ids: Collection[str], session: Session) -> dict[str, Progress]:
        """How far the journal holds each of these operations (absent: not at all)."""
        cursor = self._entries.find(
            {"_id": {"$in": list(operation_ids)}}, {"status": 1, "done": 1}, session=session
        )
        return {doc["_id"]: Progress(doc["status"], doc["done"]) async for doc in cursor}

    async def put(self, ops: Collection[common_pb2.Operation], session: Session) -> None:
        """The operations' newest states, in one write."""
        if ops:
            await self._entries.bulk_write(
                [UpdateOne({"_id": op.id}, {"$set": _entry(op)}, upsert=True) for op in ops],
                session=session,
            )

    async def put_results(
        self,
        decided: Sequence[tuple[common_pb2.Operation, Sequence[common_pb2.OperationTargetResult]]],
        session: Session,
    ) -> None:
        """The results each update decided, in the updates' order (a target pending in one
        and decided in the next ends decided), in one write."""
        now = datetime.now(UTC)
        writes = [_result_write(op, r, now) for op, results in decided for r in results]
        if writes:
            await self._results.bulk_write(writes, ordered=True, session=session)

    async def cancel_pending(self, operation_id: str, session: Session) -> None:
        """What is still pending when an operation ended cancelled was never started."""
        await self._results.update_many(
            {"operation_id": operation_id, "status": PENDING},
            {"$set": {"status": CANCELLED, "code": "cancelled", "decided_at": datetime.now(UTC)}},
            session=session,
        )

    # --- what a company's caller reads ---

    async def get(self, company_id: str, operation_id: str) -> Doc | None:
        return await self._entries.find_one({"_id": operation_id, "company_id": company_id})

    async def page(
        self,
        company_id: str,
        *,
        visible_to: str,
        permissions: Collection[str],
        operation_type: str,
        status: str,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Doc]:
        """Newest first: what `visible_to` started, and every operation whose permission
        the caller holds for the whole company."""
        criteria: Doc = {
            "company_id": company_id,
            "$or": [
                {"created_by": visible_to or "\u0000"},
                {"permission": {"$in": [p for p in permissions if p]}},
            ],
        }
        if operation_type:
            criteria["type"] = operation_type
        if status:
            criteria["status"] = status
        return await keyset_page(
            self._entries, criteria, NEWEST_CREATED_FIRST, after=after, limit=limit
        )

    async def results_page(
        self,
        company_id: str,
        operation_id: str,
        status: str,
        after: tuple[int, str] | None,
        limit: int,
    ) -> list[tuple[tuple[int, str], common_pb2.OperationTargetResult]]:
        criteria: Doc = {"company_id": company_id, "operation_id": operation_id}
        if status:
            criteria["status"] = status
        docs = await keyset_page(self._results, criteria, SEQUENCE, after=after, limit=limit)
        return [((doc.get("seq", 0), doc["_id"]), _result(doc)) for doc in docs]


def _result_write(
    op: common_pb2.Operation, r: common_pb2.OperationTargetResult, now: datetime
) -> UpdateOne:
    key = {"_id": f"{op.id}:{r.target}"}
    insert: Doc = {"company_id": op.company_id, "operation_id": op.id, "target": r.target}
    place: Doc = {"seq": r.seq} if r.seq else {}
    if r.status == PENDING:
        update: Doc = {"$setOnInsert": {**insert, "status": PENDING}}
        if place:
            update["$set"] = place
        return UpdateOne(key, update, upsert=True)
    decided = r.decided_at.ToDatetime(tzinfo=UTC) if r.HasField("decided_at") else now
    told = {"status": r.status, "code": r.code, "detail": r.detail}
    update = {"$set": {**told, "decided_at": decided, **place}}
    update["$setOnInsert"] = insert if place else {**insert, "seq": 0}
    return UpdateOne(key, update, upsert=True)
