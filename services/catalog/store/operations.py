"""Bulk operations and their per-number results, in MongoDB.

`operations`: one document per operation, with the worker's claim on it (`holder`,
`lease_until`) and when it was last handed to the work queue (`dispatched_at`).
`operation_targets`: the operation's numbers in the request's order, RESULTS_CHUNK to a
document (`_id` "<operation>/<n>", `first` the place of its first number), listed once,
in the transaction that starts the operation.
`operation_results`: one document per number decided without the network (refused,
unchanged, moved in the hierarchy, cancelled, or changed by billing or the SMS centre),
`_id` "<operation>:<msisdn>", `seq` its place in the request. It is written once, in the
transaction that decides the number (a second would repeat the `_id`). A number the
network was asked to change has its result on its intent instead (store/intents.py),
written by the update that finishes the intent, once (the intent must still be pending):
the answer costs one document, not two. So a number's result is in one of the two, read
by `_id` from both, and that is what makes a resumed operation do each number once. A
number with neither is pending (cancelled ones get theirs when the operation ends). A
pending number costs no write: the embedded database pays per document and per index
entry, and a pending row per number was a tenth of what a bulk block wrote.

Every read a company's caller can reach names the company.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.catalog.domain.bulk import BulkOperation, TargetResult, Targets
from services.catalog.store.intents import IntentStore
from services.kit.job_leases import JobLeases, traced_job
from services.kit.keyset import NEWEST_CREATED_FIRST, keyset_page
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
        # Handed to the queue by the call that makes it, unless it waits for its time.
        "dispatched_at": None if op.scheduled_at else op.created_at,
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


def _targets_id(operation_id: str, first: int) -> str:
    return f"{operation_id}/{first // RESULTS_CHUNK}"


def _result_doc(op: BulkOperation, result: TargetResult, seq: int, now: datetime) -> Doc:
    return {
        "_id": f"{op.id}:{result.msisdn}",
        "operation_id": op.id,
        "company_id": op.company_id,
        "seq": seq,
        "msisdn": result.msisdn,
        "status": result.status,
        "code": result.code,
        "detail": result.detail,
        "decided_at": now,
    }


def _result(doc: Doc) -> TargetResult:
    return TargetResult(doc["msisdn"], doc["status"], doc.get("code", ""), doc.get("detail", ""))


class OperationStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._operations = db["operations"]
        self._results = db["operation_results"]
        self._targets = db["operation_targets"]
        self._intents = IntentStore(db)  # the results the network's answers left there
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
        docs = await keyset_page(
            self._operations, criteria, NEWEST_CREATED_FIRST, after=after, limit=limit
        )
        return [_operation(doc) for doc in docs]

    async def results_page(
        self, company_id: str, operation_id: str, status: str, after: int | None, limit: int
    ) -> list[tuple[int, TargetResult]]:
        """The results from place `after + 1` on, in the request's order: every target
        (pending ones too), or those of one status."""
        start = 0 if after is None else after + 1
        if status == PENDING:
            return await self._undecided(company_id, operation_id, start, limit)
        if status:
            criteria: Doc = {"company_id": company_id, "operation_id": operation_id}
            criteria["status"] = status
            if after is not None:
                criteria["seq"] = {"$gt": after}
            cursor = self._results.find(criteria).sort("seq", ASCENDING).limit(limit)
            here = [(doc["seq"], _result(doc)) async for doc in cursor]
            carried = await self._intents.results_page(
                company_id, operation_id, status, after, limit
            )
            return sorted(here + carried, key=lambda row: row[0])[:limit]
        rows: list[tuple[int, TargetResult]] = []
        async for places in self._targets_from(company_id, operation_id, start):
            window = dict(list(places.items())[: limit - len(rows)])
            decided = await self._decided(company_id, operation_id, window)
            for msisdn, seq in window.items():
                rows.append((seq, decided.get(msisdn) or TargetResult(msisdn, PENDING)))
            if len(rows) >= limit:
                break
        return rows

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

    async def undispatched(self, operation_id: str) -> None:
        await self._leases.undispatched(operation_id)

    async def due(self, now: datetime, redispatch_after: timedelta, limit: int) -> list[str]:
        """Operations that should be running but nobody holds (kit.job_leases)."""
        return await self._leases.due(now, redispatch_after, limit)

    async def list_targets(
        self, op: BulkOperation, msisdns: Sequence[str], session: AsyncClientSession
    ) -> int:
        """The operation's numbers, in order, unless they are listed already (then those
        stand). Returns how many are listed."""
        listed = await self._targets.find(
            {"operation_id": op.id, "company_id": op.company_id}, session=session
        ).to_list(None)
        if listed:
            return sum(len(doc["msisdns"]) for doc in listed)
        msisdns = list(dict.fromkeys(msisdns))  # each number once, at its first place
        documents = [
            {
                "_id": _targets_id(op.id, start),
                "operation_id": op.id,
                "company_id": op.company_id,
                "first": start,
                "msisdns": list(msisdns[start : start + RESULTS_CHUNK]),
            }
            for start in range(0, len(msisdns), RESULTS_CHUNK)
        ]
        if documents:
            await self._targets.insert_many(documents, session=session)
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
        op: BulkOperation,
        limit: int,
        session: AsyncClientSession | None = None,
    ) -> dict[str, int]:
        """The first `limit` numbers still to do, in request order: number → its place.
        Batches decide numbers in that order, so after `done` results the next ones are
        from place `done` on (places count from 0); only if none is left there (a gap)
        from the first place."""
        done = op.progress.done
        if done >= op.total:
            return {}  # every number has its result (written with the counter)
        found = await self._undecided(op.company_id, op.id, done, limit, session)
        if not found and done > 0:
            found = await self._undecided(op.company_id, op.id, 0, limit, session)
        return {result.msisdn: seq for seq, result in found}

    async def _undecided(
        self,
        company_id: str,
        operation_id: str,
        start: int,
        limit: int,
        session: AsyncClientSession | None = None,
    ) -> list[tuple[int, TargetResult]]:
        """The first `limit` targets from place `start` on without a result. The results
        are looked for `limit` targets at a time, not a listed document's thousand: a batch
        asks for its hundred once or twice, and most of what follows it is undecided."""
        rows: list[tuple[int, TargetResult]] = []
        async for places in self._targets_from(company_id, operation_id, start, session):
            listed = list(places.items())
            for first in range(0, len(listed), limit):
                window = dict(listed[first : first + limit])
                decided = await self._decided(company_id, operation_id, window, session)
                rows += [
                    (seq, TargetResult(m, PENDING)) for m, seq in window.items() if m not in decided
                ]
                if len(rows) >= limit:
                    return rows[:limit]
        return rows

    async def _targets_from(
        self,
        company_id: str,
        operation_id: str,
        start: int,
        session: AsyncClientSession | None = None,
    ) -> AsyncIterator[dict[str, int]]:
        """The targets from place `start` on, a listed document's worth at a time:
        number → place."""
        first = start - start % RESULTS_CHUNK
        while True:
            doc = await self._targets.find_one(
                {"_id": _targets_id(operation_id, first), "company_id": company_id},
                session=session,
            )
            if doc is None:
                return
            places = {m: first + i for i, m in enumerate(doc["msisdns"]) if first + i >= start}
            if places:
                yield places
            first += RESULTS_CHUNK

    async def _decided(
        self,
        company_id: str,
        operation_id: str,
        places: Mapping[str, int],
        session: AsyncClientSession | None = None,
    ) -> dict[str, TargetResult]:
        """The results these targets have, by number (read by their `_id`s here and on
        their intents)."""
        decided = await self._intents.results_of(company_id, operation_id, list(places), session)
        rest = [f"{operation_id}:{m}" for m in places if m not in decided]
        if not rest:
            return decided
        cursor = self._results.find(
            {"_id": {"$in": rest}, "company_id": company_id}, session=session
        )
        return decided | {doc["msisdn"]: _result(doc) async for doc in cursor}

    async def decide(
        self,
        op: BulkOperation,
        results: Sequence[TargetResult],
        places: Mapping[str, int],
        now: datetime,
        session: AsyncClientSession | None,
    ) -> BulkOperation:
        """Each result, at its number's place, and the operation's counters; returns the
        operation as it is now. A number decided before repeats its result's `_id`
        (BulkWriteError): a number is decided once."""
        await self._results.insert_many(
            [_result_doc(op, r, places[r.msisdn], now) for r in results],
            session=session,
        )
        return await self.count_decided(op, results, session)

    async def count_decided(
        self,
        op: BulkOperation,
        results: Sequence[TargetResult],
        session: AsyncClientSession | None,
    ) -> BulkOperation:
        """The operation's counters of these results, written elsewhere (on the intents
        that the network's answers finished); returns the operation as it is now."""
        operation_id = op.id
        failed = sum(1 for r in results if r.status == FAILED)
        same = sum(1 for r in results if r.status == UNCHANGED)
        doc = await self._operations.find_one_and_update(
            {"_id": operation_id},
            {"$inc": {"done": len(results), "failed": failed, "unchanged": same}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return _operation(doc)

    async def cancel_pending(self, op: BulkOperation, now: datetime) -> int:
        """The numbers left pending, cancelled; returns how many."""
        cancelled = 0
        async for places in self._targets_from(op.company_id, op.id, 0):
            decided = await self._decided(op.company_id, op.id, places)
            left = [
                _result_doc(op, TargetResult(m, CANCELLED, "cancelled"), seq, now)
                for m, seq in places.items()
                if m not in decided
            ]
            if not left:
                continue
            try:
                cancelled += len(
                    (await self._results.insert_many(left, ordered=False)).inserted_ids
                )
            except BulkWriteError as error:  # decided meanwhile: theirs stand
                if any(e.get("code") != DUPLICATE_KEY for e in error.details["writeErrors"]):
                    raise
                cancelled += error.details["nInserted"]
        return cancelled

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
