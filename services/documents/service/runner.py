"""The documents worker's use case: run one of documents' own operations (a report, or a
batch of financial documents: service/document_maker.py).

A worker claims the job (a lease in the database, renewed as it goes), writes the report
into GridFS as the rows come, telling its progress every second (a batch of documents:
after each document, with its result), and ends the job with the files in one
transaction with the journal's record and the events (the operation's update, and a
`vm.documents.file.ready.v1` for each file made). A worker that dies
leaves its lease to run out; the next claim starts the file again (what the dead worker
wrote is discarded first). A job claimed more than MAX_CLAIMS times fails with
`worker_lost` instead of being tried forever: it finishes or fails, it never hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.documents.domain import documents as financial
from services.documents.domain import reports as rules
from services.documents.domain.periods import Period
from services.documents.peers import OperatorPeers
from services.documents.render.reports import writer
from services.documents.service.document_maker import DocumentMaker
from services.documents.service.jobs import JobCases, file_ready, target_result
from services.documents.service.report_rows import ReportRows, heading
from services.documents.store.files import GeneratedFiles
from services.kit import operation_status
from services.kit.errors import DomainError
from vm.common.v1 import common_pb2

log = logging.getLogger(__name__)

Doc = dict[str, Any]
DOCUMENT, REPORT = "document", "report"  # the kinds of files a job makes
MAX_CLAIMS = 3
PROGRESS_EVERY_SECONDS = 1.0


class WorkerStopping(Exception):
    """The worker is stopping: the job goes back to the queue for another one."""


class Cancelled(Exception):
    """The job was cancelled while it ran."""


@dataclass(frozen=True)
class RunnerSettings:
    lease: timedelta = timedelta(seconds=30)


class JobRunner:
    def __init__(
        self,
        jobs: JobCases,
        files: GeneratedFiles,
        rows: ReportRows,
        peers: OperatorPeers,
        maker: DocumentMaker,
        settings: RunnerSettings | None = None,
    ) -> None:
        self._jobs = jobs
        self._files = files
        self._rows = rows
        self._peers = peers
        self._maker = maker
        self._settings = settings or RunnerSettings()
        self._holder = f"documents-worker-{secrets.token_hex(6)}"
        self._stopping = False
        self._held: set[str] = set()  # the jobs this worker runs now
        self._idle = asyncio.Event()
        self._idle.set()

    async def stop(self, grace_seconds: float) -> None:
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace_seconds)

    async def run(self, job_id: str) -> None:
        if self._stopping:
            raise WorkerStopping("this worker is stopping")
        if job_id in self._held:
            return  # handed out again while this worker runs it
        leases = self._jobs.jobs.leases
        job = await leases.claim(job_id, self._holder, datetime.now(UTC), self._settings.lease)
        if job is None:
            return  # ended, not due, or another worker's
        self._held.add(job_id)
        self._idle.clear()
        heartbeat = asyncio.create_task(self._keep_claim(job_id))
        try:
            await self._run_claimed(job)
        except BaseException:
            await asyncio.shield(leases.release(job_id, self._holder))
            raise
        finally:
            heartbeat.cancel()
            self._held.discard(job_id)
            if not self._held:
                self._idle.set()

    async def _keep_claim(self, job_id: str) -> None:
        """Renews the claim while the job runs, also through a long read that tells no
        progress (a usage report sums every record before its first row): the claim runs
        out only when this process stops answering, and only then does another worker take
        the job over."""
        every = self._settings.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(every)
            until = datetime.now(UTC) + self._settings.lease
            with contextlib.suppress(Exception):  # the database is away: the next beat retries
                if await self._jobs.jobs.leases.renew(job_id, self._holder, until) is None:
                    return  # lost: the job's next step notices and stops

    async def _run_claimed(self, job: Doc) -> None:
        if job.get("claims", 1) > MAX_CLAIMS:
            await self._fail(
                job, "worker_lost", "операцию не удалось завершить: обработчик прерывался"
            )
            return
        if job.get("cancel_requested"):
            await self._end(job, operation_status.CANCELLED, {})
            return
        started = await self._jobs.advance(
            job["_id"],
            {
                "status": operation_status.RUNNING,
                "started_at": job.get("started_at") or datetime.now(UTC),
            },
        )
        if started is None:
            return
        try:
            if started["type"] == financial.OPERATION_TYPE:
                await self._documents(started)
            else:
                made = await self._report(started)
                ready = [(REPORT, started["request"]["type"], f) for f in made["files"]]
                await self._end(started, operation_status.SUCCEEDED, made, ready=ready)
        except Cancelled:
            await self._end(started, operation_status.CANCELLED, {})
        except DomainError as error:
            await self._fail(started, error.reason.lower(), error.message)

    async def _documents(self, job: Doc) -> None:
        made: list[Doc] = []
        done = failed = 0
        async for outcome in self._maker.make(job, _period(job)):
            done += 1
            failed += outcome.result.status == operation_status.FAILED
            if outcome.document is not None:
                made.append(outcome.document)
            await self._progress(job, {"done": done, "failed": failed}, [outcome.result])
        mailed = [] if job.get("emailed") else await self._maker.deliver(job, made, done + 1)
        undelivered = sum(r.status == operation_status.FAILED for r in mailed)
        status = operation_status.final_status(job.get("total", 0), failed, cancelled=False)
        if status == operation_status.SUCCEEDED and undelivered:
            status = operation_status.PARTIALLY_FAILED
        changes = {
            "done": done,
            "failed": failed + undelivered,
            "emailed": True,
            "files": [
                {k: d["file"][k] for k in ("name", "url", "content_type", "size")} for d in made
            ],
        }
        ready = [(DOCUMENT, d["type"], d["file"]) for d in made]
        await self._end(job, status, changes, mailed, ready=ready)

    async def _report(self, job: Doc) -> Doc:
        request = job["request"]
        period = _period(job)
        company = await self._peers.company(job["company_id"])
        file_id = f"{job['_id']}-{job.get('claims', 1)}"
        for attempt in range(1, job.get("claims", 1)):
            await self._files.discard(f"{job['_id']}-{attempt}")
        await self._files.discard(file_id)
        name = rules.file_name(request["type"], period.label, request["format"])
        content_type = rules.CONTENT_TYPES[request["format"]]
        upload = self._files.open_upload(
            file_id, name, company_id=job["company_id"], owner=job["_id"], content_type=content_type
        )
        out = writer(
            request["format"],
            upload,
            rules.REPORT_TYPES[request["type"]].columns,
            heading(request["type"], company.name, period, job.get("total", 0)),
        )
        told = time.monotonic()
        done = 0
        async for batch in self._rows.rows(job, period):
            await out.rows(batch.rows)
            done = batch.done
            if time.monotonic() - told >= PROGRESS_EVERY_SECONDS:
                told = time.monotonic()
                await self._progress(job, {"done": min(done, job.get("total", 0))})
        size = await out.close()
        url = f"/api/v1/reports/{job['_id']}/file"
        return {
            "file_id": file_id,
            "done": job.get("total", 0),
            "files": [{"name": name, "url": url, "content_type": content_type, "size": size}],
        }

    async def _progress(
        self, job: Doc, changes: Doc, results: Sequence[common_pb2.OperationTargetResult] = ()
    ) -> None:
        until = datetime.now(UTC) + self._settings.lease
        renewed = await self._jobs.jobs.leases.renew(job["_id"], self._holder, until)
        if renewed is None:
            raise WorkerStopping("the claim on the job was lost")
        if renewed.get("cancel_requested"):
            raise Cancelled
        await self._jobs.advance(job["_id"], changes, results)

    async def _end(
        self,
        job: Doc,
        status: str,
        changes: Doc,
        results: Sequence[common_pb2.OperationTargetResult] = (),
        *,
        ready: Sequence[tuple[str, str, Doc]] = (),
    ) -> None:
        """The job ended, with a `file.ready` for each file it made, (kind, type, file)."""
        now = datetime.now(UTC)
        await self._jobs.advance(
            job["_id"],
            {**changes, "status": status, "finished_at": now, "holder": None, "lease_until": None},
            results,
            events=lambda ended: [file_ready(ended, *each) for each in ready],
        )
        log.info("job ended", extra={"operation": job["_id"], "status": status})

    async def _fail(self, job: Doc, code: str, detail: str) -> None:
        target = "documents" if job["type"] == financial.OPERATION_TYPE else "report"
        result = target_result(target, operation_status.FAILED, code, detail, 1)
        now = datetime.now(UTC)
        await self._jobs.advance(
            job["_id"],
            {
                "status": operation_status.FAILED,
                "failed": 1,
                "finished_at": now,
                "holder": None,
                "lease_until": None,
            },
            [result],
        )


def _period(job: Doc) -> Period:
    dates = job["request"]["period"]
    return Period(*(datetime.fromisoformat(dates[k]).date() for k in ("from", "to")))
