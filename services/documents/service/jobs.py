"""Documents' own operations (document batches, reports): created, advanced and ended
each in one transaction with the journal's record of it and the
`vm.documents.operation.updated.v1` that tells everyone else (the end of a job that made
files also with a `vm.documents.file.ready.v1` for each) — so the journal has them
from the first moment, and the event exists exactly when the change was committed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.documents.domain import journal as rules
from services.documents.service.journal import OWN_PREFIX, JournalCases
from services.documents.store.jobs import JobStore
from services.kit import operation_status
from services.kit.context import Caller
from services.kit.errors import NotAllowed, NotFound
from services.kit.events import Event, new_event
from services.kit.idempotency import check_replay
from services.kit.ids import new_id
from services.kit.job_leases import traced_job
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from services.kit.work_queue import Dispatch, hand_over
from vm.common.v1 import common_pb2
from vm.documents.events.v1 import events_pb2

log = logging.getLogger(__name__)

OPERATION_UPDATED = "vm.documents.operation.updated.v1"
FILE_READY = "vm.documents.file.ready.v1"
SOURCE = "/services/documents"
Doc = dict[str, Any]


def operation_message(job: Doc) -> common_pb2.Operation:
    message = common_pb2.Operation(
        id=job["_id"],
        type=job["type"],
        status=operation_status.STATUS_VALUES[job["status"]],
        progress=rules.percent(job.get("total", 0), job.get("done", 0)),
        total=job.get("total", 0),
        done=job.get("done", 0),
        failed=job.get("failed", 0),
        created_by=job.get("created_by", ""),
        company_id=job["company_id"],
        title=job.get("title", ""),
        service=rules.OWN_SERVICE,
        permission=job.get("permission", ""),
        results_url=f"/api/v1/operations/{job['_id']}/results",
        files=[common_pb2.OperationFile(**f) for f in job.get("files", [])],
    )
    for name in ("created_at", "finished_at", "started_at"):
        if job.get(name) is not None:
            getattr(message, name).FromDatetime(job[name])
    return message


def target_result(
    target: str, status: str, code: str, detail: str, seq: int
) -> common_pb2.OperationTargetResult:
    return common_pb2.OperationTargetResult(
        target=target, status=status, code=code, detail=detail, seq=seq
    )


def updated(job: Doc, results: Sequence[common_pb2.OperationTargetResult] = ()) -> Event:
    payload = common_pb2.OperationUpdated(operation=operation_message(job), results=results)
    return new_event(
        OPERATION_UPDATED, payload, source=SOURCE, company_id=job["company_id"], subject=job["_id"]
    )


def file_ready(job: Doc, kind: str, file_type: str, file: Doc) -> Event:
    """`vm.documents.file.ready.v1` for one file the job made (kind "document" or
    "report"; `file` with its name, url, content_type and size)."""
    payload = events_pb2.FileReady(
        company_id=job["company_id"],
        operation_id=job["_id"],
        kind=kind,
        type=file_type,
        name=file["name"],
        content_type=file["content_type"],
        size=file["size"],
        url=file["url"],
        created_by=job.get("created_by", ""),
    )
    return new_event(
        FILE_READY, payload, source=SOURCE, company_id=job["company_id"], subject=file["url"]
    )


def new_job(
    caller: Caller,
    company_id: str,
    *,
    kind: str,
    title: str,
    permission: str,
    total: int,
    request: Doc,
    key: str,
    digest: str,
) -> Doc:
    now = datetime.now(UTC)
    job: Doc = {
        "_id": new_id(OWN_PREFIX.rstrip("_")),
        "company_id": company_id,
        "type": kind,
        "title": title,
        "permission": permission,
        "request": request,
        "created_by": caller.user_id or "",
        "created_at": now,
        "run_after": now,
        "status": operation_status.PENDING,
        "total": total,
        "done": 0,
        "failed": 0,
        "files": [],
        "started_at": None,
        "finished_at": None,
        "cancel_requested": False,
        "holder": None,
        "lease_until": None,
        "dispatched_at": now,  # handed to the queue by the call that makes it
        "request_digest": digest,
    }
    if key:
        job["idempotency_key"] = key
    return traced_job(job)


class JobCases:
    def __init__(
        self, jobs: JobStore, journal: JournalCases, transactions: Transactions, outbox: Outbox
    ) -> None:
        self.jobs = jobs
        self._journal = journal
        self._tx = transactions
        self._outbox = outbox
        self._dispatch: Dispatch | None = None

    def dispatch_with(self, dispatch: Dispatch) -> None:
        """How a new job reaches a worker at once; without it the workers' sweepers find
        it within a second."""
        self._dispatch = dispatch

    async def replay(self, company_id: str, key: str, digest: str) -> Doc | None:
        found = await self.jobs.by_idempotency_key(company_id, key) if key else None
        if found is None:
            return None
        check_replay(found.get("request_digest", ""), digest)
        return found

    async def create(
        self, job: Doc, results: Sequence[common_pb2.OperationTargetResult] = ()
    ) -> Doc:
        async def write(session: AsyncClientSession) -> None:
            await self.jobs.create(job, session)
            await self._told(job, results, session)

        try:
            await self._tx.run(write)
        except DuplicateKeyError:  # the same key at the same moment: the first one wins
            replayed = await self.replay(
                job["company_id"], job.get("idempotency_key", ""), job["request_digest"]
            )
            if replayed is None:
                raise
            return replayed
        await hand_over(self._dispatch, job["_id"], self.jobs.leases.undispatched)
        return job

    async def advance(
        self,
        job_id: str,
        changes: Doc,
        results: Sequence[common_pb2.OperationTargetResult] = (),
        *,
        unfinished: bool = True,
        events: Callable[[Doc], Sequence[Event]] | None = None,
    ) -> Doc | None:
        """The job after `changes`, told to the journal and everyone else (with the events
        `events` makes of it: the files that are ready)."""

        async def write(session: AsyncClientSession) -> Doc | None:
            job = await self.jobs.update(job_id, changes, session, unfinished=unfinished)
            if job is not None:
                await self._told(job, results, session)
                if events is not None and (more := events(job)):
                    await self._outbox.add(session, *more)
            return job

        return await self._tx.run(write)

    async def cancel(self, caller: Caller, job_id: str) -> common_pb2.Operation:
        """Before it starts: it ends here. While it runs: it stops after the step in hand."""
        now = datetime.now(UTC)
        company_id = caller.company_id or ""
        job = await self.jobs.get(company_id, job_id)
        if job is None:
            raise NotFound("no such operation")
        operation_status.check_cancellable(job["status"])

        async def write(session: AsyncClientSession) -> Doc:
            cancelled = await self.jobs.request_cancel(company_id, job_id, now, session)
            if cancelled is None:
                raise NotAllowed("the operation has already ended", reason="OPERATION_FINISHED")
            if cancelled["status"] == operation_status.CANCELLED:
                await self._told(cancelled, (), session)
            return cancelled

        return operation_message(await self._tx.run(write))

    async def _told(
        self,
        job: Doc,
        results: Sequence[common_pb2.OperationTargetResult],
        session: AsyncClientSession,
    ) -> None:
        await self._journal.record([(operation_message(job), results)], session)
        await self._outbox.add(session, updated(job, results))
