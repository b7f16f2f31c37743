"""Bulk operations and their per-number results, in MongoDB.

`operations`: one document per operation, with the worker's claim on it (`holder`,
`lease_until`) and when it was last handed to the work queue (`dispatched_at`).
`operation_results`: one document per number of an operation, `_id` "<operation>:<msisdn>"
(so a number is listed once however often the listing is repeated), `seq` its place in
the request. A result leaves `pending` exactly once, in the transaction that changes the
number: that is what makes a resumed operation do each number once.

Every read a company's caller can reach names the company.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.catalog.domain.bulk import BulkOperation, TargetResult, Targets
from services.kit.job_leases import JobLeases, traced_job
from services.kit.mongo import DUPLICATE_KEY
from services.kit.operation_status import (
    CANCELLED,
    FAILED,
    PENDING,
    RUNNING,
    UNCHANGED,
    UNFINISHED,
)

Doc = dict[str, Any]
RESULTS_CHUNK = 1_000


def _operation_doc(op: BulkOperation, idempotency_key: str, digest: str) -> Doc:
    doc: Doc = {
        "_id": op.id,
        "company_id": op.company_id,
        "type": op.type,
        "params": dict(op.params),
        "msisdns": list(op.targets.msisdns),
        "node_id": op.targets.node_id,
        "scope_nodes": None if op.scope_nodes is None else sorted(op.scope_nodes),
        "created_by": op.created_by,
        "created_at": op.created_at,
        "dry_run": op.dry_run,
        "scheduled_at": op.scheduled_at,
        "run_after": op.scheduled_at or op.created_at,
        "status": op.status,
        "total": op.total,
        "done": 0,
        "failed": 0,
        "unchanged": 0,
        "started_at": None,
        "finished_at": None,
        "cancel_requested": False,
        "expanded": False,
        "holder": None,
        "lease_until": None,
        "dispatched_at": None,
        "request_digest": digest,
    }
    if idempotency_key:
        doc["idempotency_key"] = idempotency_key
    return traced_job(doc)


def _operation(doc: Doc) -> BulkOperation:
    scope = doc.get("scope_nodes")
    return BulkOperation(
        id=doc["_id"],
        company_id=doc["company_id"],
        type=doc["type"],
        params=doc.get("params", {}),
        targets=Targets(tuple(doc.get("msisdns", ())), doc.get("node_id", "")),
        scope_nodes=None if scope is None else frozenset(scope),
        created_by=doc.get("created_by", ""),
        created_at=doc["created_at"],
        dry_run=doc.get("dry_run", False),
        scheduled_at=doc.get("scheduled_at"),
        status=doc["status"],
        total=doc.get("total", 0),
        done=doc.get("done", 0),
        failed=doc.get("failed", 0),
        unchanged=doc.get("unchanged", 0),
        started_at=doc.get("started_at"),
        finished_at=doc.get("finished_at"),
        cancel_requested=doc.get("cancel_requested", False),
        expanded=doc.get("expanded", False),
    )


def _result(doc: Doc) -> TargetResult:
    return TargetResult(doc["msisdn"], doc["status"], doc.get("code", ""), doc.get("detail", ""))


class OperationStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._operations = db["operations"]
        self._results = db["operation_results"]
        self._leases = JobLeases(self._operations, UNFINISHED)

    async def ensure_indexes(self) -> None:
        await self._operations.create_index(
            [("company_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self._operations.create_index(
            [("company_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotency_key": {"$exists": True}},
        )
        await self._leases.ensure_indexes()
        await self._results.create_index(
            [("operation_id", ASCENDING), ("status", ASCENDING), ("seq", ASCENDING)]
        )
        await self._results.create_index(
            [("company_id", ASCENDING), ("operation_id", ASCENDING), ("seq", ASCENDING)]
        )

    # --- what a company's caller reaches ---

    async def create(
        self,
        op: BulkOperation,
        idempotency_key: str,
        digest: str,
        session: AsyncClientSession,
    ) -> None:
        """DuplicateKeyError when the company used the idempotency key already."""
        await self._operations.insert_one(
            _operation_doc(op, idempotency_key, digest), session=session
        )

    async def by_idempotency_key(
        self, company_id: str, key: str
    ) -> tuple[BulkOperation, str] | None:
        doc = await self._operations.find_one({"company_id": company_id, "idempotency_key": key})
        return (_operation(doc), doc.get("request_digest", "")) if doc else None

    async def get(
        self, company_id: str, operation_id: str, session: AsyncClientSession | None = None
    ) -> BulkOperation | None:
        doc = await self._operations.find_one(
            {"_id": operation_id, "company_id": company_id}, session=session
        )
        return _operation(doc) if doc else None

    async def page(
        self,
        company_id: str,
        *,
        visible_to: str,
        company_wide_types: Sequence[str],
        operation_type: str,
        status: str,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[BulkOperation]:
        """Newest first: the operations `visible_to` started, and every one of the types
        the caller holds company-wide."""
        criteria: Doc = {
            "company_id": company_id,
            "$or": [{"created_by": visible_to}, {"type": {"$in": list(company_wide_types)}}],
        }
        if operation_type:
            criteria["type"] = operation_type
        if status:
            criteria["status"] = status
        if after is not None:
            at, last_id = after
            criteria["$and"] = [
                {"$or": [{"created_at": {"$lt": at}}, {"created_at": at, "_id": {"$lt": last_id}}]}
            ]
        cursor = (
            self._operations.find(criteria)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [_operation(doc) async for doc in cursor]

    async def results_page(
        self, company_id: str, operation_id: str, status: str, after: int | None, limit: int
    ) -> list[tuple[int, TargetResult]]:
        criteria: Doc = {"company_id": company_id, "operation_id": operation_id}
        if status:
            criteria["status"] = status
        if after is not None:
            criteria["seq"] = {"$gt": after}
        cursor = self._results.find(criteria).sort("seq", ASCENDING).limit(limit)
        return [(doc["seq"], _result(doc)) async for doc in cursor]

    async def cancel(
        self, company_id: str, operation_id: str, now: datetime, session: AsyncClientSession
    ) -> BulkOperation | None:
        """An operation not started yet ends here; a running one is asked to stop (its
        worker ends it after the batch in hand). None: it ended meanwhile."""
        criteria = {"_id": operation_id, "company_id": company_id}
        doc = await self._operations.find_one_and_update(
            {**criteria, "status": PENDING, "expanded": False},
            {"$set": {"status": CANCELLED, "finished_at": now, "cancel_requested": True}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if doc is None:
            doc = await self._operations.find_one_and_update(
                {**criteria, "status": {"$in": UNFINISHED}},
                {"$set": {"cancel_requested": True}},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
        return _operation(doc) if doc else None

    # --- the worker's ---

    async def claim(
        self, operation_id: str, holder: str, now: datetime, lease: timedelta
    ) -> BulkOperation | None:
        """The operation for this worker until `now + lease`, unless another worker holds
        a live claim, it has ended, or it is not due yet."""
        doc = await self._leases.claim(operation_id, holder, now, lease)
        return _operation(doc) if doc else None

    async def renew(
        self,
        operation_id: str,
        holder: str,
        until: datetime,
        session: AsyncClientSession | None = None,
    ) -> BulkOperation | None:
        """The operation as it is now, with the claim extended; None if the claim was lost
        (kit.job_leases: first in a batch's transaction, it fences it)."""
        doc = await self._leases.renew(operation_id, holder, until, session)
        return _operation(doc) if doc else None

    async def release(self, operation_id: str, holder: str) -> None:
        """Another worker may take it over at once (a worker stopping in the middle)."""
        await self._leases.release(operation_id, holder)

    async def due(self, now: datetime, redispatch_after: timedelta, limit: int) -> list[str]:
        """Operations that should be running but nobody holds (kit.job_leases)."""
        return await self._leases.due(now, redispatch_after, limit)

    async def list_targets(self, op: BulkOperation, msisdns: Sequence[str]) -> int:
        """The operation's numbers as pending results, in order (repeatable: a number
        already listed stays as it is). Returns how many are listed."""
        for start in range(0, len(msisdns), RESULTS_CHUNK):
            chunk = msisdns[start : start + RESULTS_CHUNK]
            documents = [
                {
                    "_id": f"{op.id}:{msisdn}",
                    "operation_id": op.id,
                    "company_id": op.company_id,
                    "seq": start + index,
                    "msisdn": msisdn,
                    "status": PENDING,
                }
                for index, msisdn in enumerate(chunk)
            ]
            try:
                await self._results.insert_many(documents, ordered=False)
            except BulkWriteError as error:  # listed by a worker before this one
                if any(e.get("code") != DUPLICATE_KEY for e in error.details["writeErrors"]):
                    raise
        return len(msisdns)

    async def mark_started(
        self, operation_id: str, total: int, now: datetime, session: AsyncClientSession
    ) -> BulkOperation | None:
        doc = await self._operations.find_one_and_update(
            {"_id": operation_id, "status": {"$in": UNFINISHED}},
            {"$set": {"expanded": True, "total": total, "status": RUNNING, "started_at": now}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return _operation(doc) if doc else None

    async def pending(
        self,
        operation_id: str,
        limit: int,
        session: AsyncClientSession | None = None,
        *,
        decided: int = 0,
    ) -> list[str]:
        """The first `limit` numbers still to do, in request order. Batches decide numbers
        in that order, so after `decided` results the next ones are seq decided,
        decided+1, … (seq counts from 0): asked as that window of the index, never as
        "every pending result, sorted" (the database would read all of them to sort
        them, once per batch)."""
        # Bounds that exclude their ends (see kit.job_leases on inclusive bounds).
        window = {"$gt": decided - 1, "$lt": decided + limit}
        found = await self._pending_in(operation_id, limit, session, window)
        if found or decided == 0:
            return found
        return await self._pending_in(operation_id, limit, session, None)  # a gap: look all over

    async def _pending_in(
        self,
        operation_id: str,
        limit: int,
        session: AsyncClientSession | None,
        seqs: dict[str, int] | None,
    ) -> list[str]:
        criteria: dict[str, Any] = {"operation_id": operation_id, "status": PENDING}
        if seqs is not None:
            criteria["seq"] = seqs
        cursor = (
            self._results.find(criteria, {"msisdn": 1}, session=session)
            .sort("seq", ASCENDING)
            .limit(limit)
        )
        return [doc["msisdn"] async for doc in cursor]

    async def decide(
        self,
        operation_id: str,
        results: Sequence[TargetResult],
        now: datetime,
        session: AsyncClientSession | None,
    ) -> BulkOperation:
        """Each result out of `pending` (only from pending: a result is decided once) and
        the operation's counters; returns the operation as it is now."""
        await self._results.bulk_write(
            [
                UpdateOne(
                    {"_id": f"{operation_id}:{r.msisdn}", "status": PENDING},
                    {
                        "$set": {
                            "status": r.status,
                            "code": r.code,
                            "detail": r.detail,
                            "decided_at": now,
                        }
                    },
                )
                for r in results
            ],
            ordered=False,
            session=session,
        )
        failed = sum(1 for r in results if r.status == FAILED)
        same = sum(1 for r in results if r.status == UNCHANGED)
        doc = await self._operations.find_one_and_update(
            {"_id": operation_id},
            {"$inc": {"done": len(results), "failed": failed, "unchanged": same}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return _operation(doc)

    async def cancel_pending(self, operation_id: str, now: datetime) -> int:
        result = await self._results.update_many(
            {"operation_id": operation_id, "status": PENDING},
            {"$set": {"status": CANCELLED, "code": "cancelled", "decided_at": now}},
        )
        return result.modified_count

    async def finish(
        self, operation_id: str, status: str, now: datetime, session: AsyncClientSession
    ) -> BulkOperation:
        doc = await self._operations.find_one_and_update(
            {"_id": operation_id, "status": {"$in": UNFINISHED}},
            {
                "$set": {
                    "status": status,
                    "finished_at": now,
                    "holder": None,
                    "lease_until": None,
                }
            },
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return _operation(doc) if doc else await self._must_get(operation_id, session)

    async def _must_get(self, operation_id: str, session: AsyncClientSession) -> BulkOperation:
        doc = await self._operations.find_one({"_id": operation_id}, session=session)
        return _operation(doc)
