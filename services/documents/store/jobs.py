"""Documents' own operations (document batches and reports) in MongoDB: `jobs`, one
document per operation, with what was asked (`request`), how far it got, the files it
made, and the worker's claim (kit/job_leases.py). Every read a company's caller can reach
names the company."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.job_leases import JobLeases
from services.kit.operation_status import PENDING, RUNNING, UNFINISHED

Doc = dict[str, Any]
Session = AsyncClientSession | None


class JobStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._jobs = db["jobs"]
        self.leases = JobLeases(self._jobs, UNFINISHED)

    async def ensure_indexes(self) -> None:
        await self.leases.ensure_indexes()
        await self._jobs.create_index(
            [("company_id", ASCENDING), ("idempotency_key", ASCENDING)],
            unique=True,
            partialFilterExpression={"idempotency_key": {"$exists": True}},
        )
        await self._jobs.create_index([("finished_at", ASCENDING)])

    async def create(self, job: Doc, session: AsyncClientSession) -> None:
        """DuplicateKeyError when the company used the idempotency key already."""
        await self._jobs.insert_one(job, session=session)

    async def by_idempotency_key(self, company_id: str, key: str) -> Doc | None:
        return await self._jobs.find_one({"company_id": company_id, "idempotency_key": key})

    async def get(self, company_id: str, job_id: str, session: Session = None) -> Doc | None:
        return await self._jobs.find_one({"_id": job_id, "company_id": company_id}, session=session)

    async def load(self, job_id: str, session: Session = None) -> Doc | None:
        """The worker's read (it runs for whichever company the job is)."""
        return await self._jobs.find_one({"_id": job_id}, session=session)

    async def update(
        self, job_id: str, changes: Doc, session: Session, *, unfinished: bool = True
    ) -> Doc | None:
        """The job after `changes` (a `$set`), if it has not ended (when `unfinished`)."""
        criteria: Doc = {"_id": job_id}
        if unfinished:
            criteria["status"] = {"$in": list(UNFINISHED)}
        return await self._jobs.find_one_and_update(
            criteria, {"$set": changes}, return_document=ReturnDocument.AFTER, session=session
        )

    async def request_cancel(
        self, company_id: str, job_id: str, now: datetime, session: Session
    ) -> Doc | None:
        """A job not started yet ends here; a running one is asked to stop. None: it ended
        meanwhile."""
        criteria: Doc = {"_id": job_id, "company_id": company_id}
        doc = await self._jobs.find_one_and_update(
            {**criteria, "status": PENDING},
            {"$set": {"status": "cancelled", "finished_at": now, "cancel_requested": True}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        if doc is None:
            doc = await self._jobs.find_one_and_update(
                {**criteria, "status": RUNNING},
                {"$set": {"cancel_requested": True}},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
        return doc

    async def finished_before(self, moment: datetime, limit: int) -> list[Doc]:
        return (
            await self._jobs.find({"finished_at": {"$lt": moment}, "files_deleted": {"$ne": True}})
            .limit(limit)
            .to_list()
        )

    async def mark_files_deleted(self, job_id: str) -> None:
        await self._jobs.update_one({"_id": job_id}, {"$set": {"files_deleted": True}})


def lease_until(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
