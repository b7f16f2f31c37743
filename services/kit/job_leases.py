"""Claims on jobs kept in MongoDB, for workers fed by a work queue (kit/work_queue.py).

A job document carries `status`, `run_after` (when it is due), and the claim: `holder`,
`lease_until`, and `dispatched_at` (when it was last handed to the queue: by the call that
made a job due at once, marked as it is made; else by a sweeper). A worker
claims a due, unfinished job that nobody holds (or whose holder's lease ran out), renews
the lease while it works, and releases it when it stops in the middle; a sweeper hands the
queue the jobs that are due and held by nobody. Every write is one conditional update, so
several workers and sweepers never hold or dispatch the same job together.

A job document may also keep `traceparent`, the trace of the call that made it
(`traced_job`): a sweeper hands the job on within that trace, so the job is part of its
caller's trace whoever dispatched it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.kit.tracing import current_traceparent

Doc = dict[str, Any]
# Stored times have millisecond precision: "due by now" is "before now + 1 ms" (a
# half-open window, never an inclusive bound).
TICK = timedelta(milliseconds=1)


class DueJob(str):
    """A due job's id, with the trace of the call that made the job (None if untraced)."""

    traceparent: str | None = None


def unheld(now: datetime) -> Doc:
    """The criterion of a document nobody holds: never claimed, released, or its holder's
    lease ran out by `now`. One clause on the field, not a top-level $or: beside one, the
    embedded database uses no index and reads the whole collection (a worker's poll of
    10,000 webhook deliveries took 1 s)."""
    return {"lease_until": {"$not": {"$gt": now}}}


async def claim_next(
    collection: AsyncCollection,
    criteria: Doc,
    *,
    order: Sequence[tuple[str, int]],
    now: datetime,
    until: datetime,
    holder: str = "",
) -> Doc | None:
    """The first document of `order` matching `criteria` that nobody holds, now held
    until `until` (by `holder`, when the later writes are fenced by it); None when there
    is none (`criteria` says nothing of the lease). One conditional update: two workers
    never hold one document."""
    held: Doc = {"lease_until": until}
    if holder:
        held["lease_holder"] = holder
    return await collection.find_one_and_update(
        {**criteria, **unheld(now)},
        {"$set": held},
        sort=list(order),
        return_document=ReturnDocument.AFTER,
    )


def traced_job(doc: Doc) -> Doc:
    """The new job document, with the trace of the call that makes it."""
    doc["traceparent"] = current_traceparent()
    return doc


class JobLeases:
    def __init__(self, jobs: AsyncCollection, unfinished: Sequence[str]) -> None:
        self._jobs = jobs
        self._unfinished = list(unfinished)

    async def ensure_indexes(self) -> None:
        await self._jobs.create_index([("status", ASCENDING), ("run_after", ASCENDING)])

    async def claim(self, job_id: str, holder: str, now: datetime, lease: timedelta) -> Doc | None:
        """The job for `holder` until `now + lease`, unless another holds a live claim, it
        has ended, or it is not due yet. Free, or already `holder`'s: two conditional
        updates rather than one with a top-level `$or`, which the embedded database
        answers by reading every job there ever was."""
        due = {"_id": job_id, "status": {"$in": self._unfinished}, "run_after": {"$lt": now + TICK}}
        claimed = {"$set": {"holder": holder, "lease_until": now + lease}, "$inc": {"claims": 1}}
        for whose in (unheld(now), {"holder": holder}):
            doc = await self._jobs.find_one_and_update(
                {**due, **whose}, claimed, return_document=ReturnDocument.AFTER
            )
            if doc is not None:
                return doc
        return None

    async def renew(
        self,
        job_id: str,
        holder: str,
        until: datetime,
        session: AsyncClientSession | None = None,
    ) -> Doc | None:
        """The job as it is now, with the claim extended; None if the claim was lost.

        Written in a transaction that changes the job, it fences that transaction: a
        worker that lost its claim commits nothing. (Early in a short transaction it also
        takes the job's document first, so a sweeper's write waits for the commit instead
        of failing it; late in a long one, so that a cancel is not kept waiting.)"""
        return await self._jobs.find_one_and_update(
            {"_id": job_id, "holder": holder},
            {"$set": {"lease_until": until}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )

    async def release(self, job_id: str, holder: str) -> None:
        """Another worker may take it over at once."""
        await self._jobs.update_one(
            {"_id": job_id, "holder": holder},
            {"$set": {"holder": None, "lease_until": None, "dispatched_at": None}},
        )

    async def undispatched(self, job_id: str) -> None:
        """The job's dispatch mark taken back: the call that made it could not hand it to
        the queue, so the next sweep does."""
        await self._jobs.update_one({"_id": job_id}, {"$set": {"dispatched_at": None}})

    async def due(self, now: datetime, redispatch_after: timedelta, limit: int) -> list[str]:
        """Jobs that should be running but nobody holds, marked as dispatched so that the
        other sweepers leave them alone for a while (each a DueJob: with its trace)."""
        due: list[str] = []
        for _ in range(limit):
            doc = await self._jobs.find_one_and_update(
                {
                    "status": {"$in": self._unfinished},
                    "run_after": {"$lt": now + TICK},
                    # Never held or its lease ran out; never dispatched or long ago: one
                    # clause per field (not `$or`s: see `claim`).
                    **unheld(now),
                    "dispatched_at": {"$not": {"$gte": now - redispatch_after}},
                },
                {"$set": {"dispatched_at": now}},
                projection={"_id": 1, "traceparent": 1},
            )
            if doc is None:
                break
            job = DueJob(doc["_id"])
            job.traceparent = doc.get("traceparent")
            due.append(job)
        return due
