"""The documents worker and its stores against the real MongoDB-protocol server.

- A worker that is killed in the middle of a report (it renews its claim no more) leaves
  the report to the next worker once its lease runs out, while a live worker keeps its
  claim however long a read takes; the report is made
  again from the start, what the first one wrote is discarded, and the operation ends
  once — it finishes or fails cleanly, it never hangs. A job that keeps losing its
  workers fails with `worker_lost`.
- Document numbers: one sequence per company, year and type, taken in the transaction that
  records the document, so concurrent documents get consecutive numbers and a transaction
  that does not commit takes none.

Billing's rows and identity's requisites come from small in-process sources here: what
is tested is the worker's claim, its file and its ending.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.documents.domain.periods import Period
from services.documents.domain.reports import Kopecks
from services.documents.domain.requisites import Requisites
from services.documents.service.jobs import FILE_READY, JobCases, new_job
from services.documents.service.journal import JournalCases
from services.documents.service.report_rows import Batch
from services.documents.service.runner import MAX_CLAIMS, JobRunner, RunnerSettings
from services.documents.store.documents import DocumentStore
from services.documents.store.files import GeneratedFiles
from services.documents.store.jobs import JobStore
from services.documents.store.journal import JournalStore
from services.kit.broker import EventPublisher
from services.kit.context import Caller
from services.kit.events import Event
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox, OutboxRelay
from tests.support.kit import eventually, kit_clients, make_consumer

pytestmark = pytest.mark.integration

COMPANY = "cmp_worker"
LEASE = timedelta(seconds=1)
ROWS = 30_000  # ~600 KB of CSV: the first worker has written chunks when it stops


class Requisitions:
    """Identity's answer about the company."""

    async def company(self, company_id: str) -> Requisites:
        return Requisites(name='ООО "Ромашка"', inn="7701234560")


class Rows:
    """Billing's rows as the worker reads them, in batches of 1,000; a read past
    `stall_after` rows never returns (the worker's process froze or died)."""

    def __init__(self, stall_after: int | None = None) -> None:
        self._stall_after = stall_after
        self.stalled = asyncio.Event()

    async def rows(self, job: dict[str, Any], period: Period) -> AsyncIterator[Batch]:
        for start in range(0, ROWS, 1_000):
            if self._stall_after is not None and start >= self._stall_after:
                self.stalled.set()
                await asyncio.Event().wait()
            rows = [
                [f"7916{n:07d}", "", "", 1, "", Kopecks(n)] for n in range(start, start + 1_000)
            ]
            yield Batch(rows, start + 1_000)


@pytest.fixture
async def jobs(db, transactions: Transactions) -> JobCases:
    journal = JournalCases(JournalStore(db), None, None)  # type: ignore[arg-type]  # no reads here
    cases = JobCases(JobStore(db), journal, transactions, Outbox(db))
    await cases.jobs.ensure_indexes()
    await GeneratedFiles(db).ensure_indexes()
    return cases


def runner(db, jobs: JobCases, rows: Rows) -> JobRunner:
    return JobRunner(
        jobs,
        GeneratedFiles(db),
        rows,  # type: ignore[arg-type]
        Requisitions(),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # reports only
        RunnerSettings(lease=LEASE),
    )


async def a_cdr_report(jobs: JobCases) -> str:
    job = new_job(
        Caller(company_id=COMPANY, user_id="usr_1"),
        COMPANY,
        kind="report",
        title="Отчёт: детализация",
        permission="reports.run",
        total=ROWS,
        request={
            "type": "cdr",
            "format": "csv",
            "period": {"from": "2026-01-01", "to": "2026-01-31"},
        },
        key="",
        digest="",
    )
    job["run_after"] = datetime.now(UTC) - timedelta(hours=1)
    await jobs.create(job)
    return job["_id"]


async def test_a_worker_that_stops_midway_leaves_the_report_to_the_next_one(db, jobs):
    report_id = await a_cdr_report(jobs)
    frozen_rows = Rows(stall_after=20_000)
    frozen = asyncio.create_task(runner(db, jobs, frozen_rows).run(report_id))
    await asyncio.wait_for(frozen_rows.stalled.wait(), 30)
    assert await db["files.chunks"].count_documents({"files_id": f"{report_id}-1"}) > 0

    # The process is killed: nothing of it runs any more, its claim stays until it runs out.
    frozen.cancel()
    await asyncio.gather(frozen, return_exceptions=True)
    await db["jobs"].update_one(
        {"_id": report_id},
        {"$set": {"holder": "documents-worker-killed", "lease_until": datetime.now(UTC)}},
    )
    await asyncio.sleep(0.1)
    await asyncio.wait_for(runner(db, jobs, Rows()).run(report_id), 60)

    job = await jobs.jobs.load(report_id)
    assert job is not None and job["status"] == "succeeded" and job["claims"] == 2
    assert job["file_id"] == f"{report_id}-2"
    assert await db["files.chunks"].count_documents({"files_id": f"{report_id}-1"}) == 0
    content = await GeneratedFiles(db).content(COMPANY, job["file_id"])
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert len(lines) == ROWS + 1 and lines[-1][0] == f"7916{ROWS - 1:07d}"
    told = await db["outbox"].count_documents({"type": "vm.documents.operation.updated.v1"})
    assert told >= 3  # created, started, ended: everyone else was told
    held = await db["journal"].find_one({"_id": report_id})
    assert held is not None and held["status"] == "succeeded"


class SlowFirstRead(Rows):
    """A read that tells nothing for longer than the claim lasts, then all its rows."""

    async def rows(self, job: dict[str, Any], period: Period) -> AsyncIterator[Batch]:
        await asyncio.sleep(LEASE.total_seconds() * 2.5)
        async for batch in super().rows(job, period):
            yield batch


async def test_a_live_worker_keeps_its_claim_through_a_long_silent_read(db, jobs):
    report_id = await a_cdr_report(jobs)
    alive = asyncio.create_task(runner(db, jobs, SlowFirstRead()).run(report_id))
    await asyncio.sleep(LEASE.total_seconds() * 2)
    other = await jobs.jobs.leases.claim(report_id, "another-worker", datetime.now(UTC), LEASE)
    assert other is None  # still held: nobody else runs it meanwhile
    await asyncio.wait_for(alive, 60)
    job = await jobs.jobs.load(report_id)
    assert job is not None and (job["status"], job["claims"]) == ("succeeded", 1)


async def test_a_report_whose_workers_keep_dying_fails_cleanly(db, jobs):
    report_id = await a_cdr_report(jobs)
    for attempt in range(MAX_CLAIMS):  # each worker died holding it
        past = datetime.now(UTC) - timedelta(minutes=10 - attempt)
        assert await jobs.jobs.leases.claim(report_id, f"dead-{attempt}", past, LEASE)
    await asyncio.wait_for(runner(db, jobs, Rows()).run(report_id), 30)
    job = await jobs.jobs.load(report_id)
    assert job is not None and job["status"] == "failed"
    result = await db["journal_results"].find_one({"operation_id": report_id})
    assert result is not None and result["code"] == "worker_lost"


async def test_document_numbers_are_consecutive_and_a_rolled_back_one_takes_none(
    db, transactions: Transactions
):
    store = DocumentStore(db)
    await store.ensure_indexes()

    async def record(index: int, *, fail: bool = False) -> int:
        async def write(session) -> int:
            seq = await store.next_number(COMPANY, 2026, "invoice", session)
            await store.insert(
                {
                    "_id": f"doc_{index}",
                    "company_id": COMPANY,
                    "operation_id": "dop_1",
                    "account_id": f"acc_{index}",
                    "type": "invoice",
                    "seq": seq,
                    "created_at": datetime.now(UTC),
                },
                session,
            )
            if fail:
                raise RuntimeError("the worker died before the commit")
            return seq

        return await transactions.run(write)

    with pytest.raises(RuntimeError):
        await record(0, fail=True)
    taken = await asyncio.gather(*(record(i) for i in range(1, 9)))
    assert sorted(taken) == list(range(1, 9))  # no gap, none twice
    counter = await db["document_numbers"].find_one({"_id": f"{COMPANY}:2026:invoice"})
    assert counter is not None and counter["seq"] == 8
    # another type and another year have sequences of their own
    assert await transactions.run(lambda s: store.next_number(COMPANY, 2026, "act", s)) == 1
    assert await transactions.run(lambda s: store.next_number(COMPANY, 2027, "invoice", s)) == 1
    assert await db["documents"].count_documents({"company_id": COMPANY}) == 8


async def test_a_finished_report_publishes_file_ready_through_the_outbox(db, jobs, settings):
    """`vm.documents.file.ready.v1` is written with the job's end and reaches a consumer
    of the events exchange: the company, the operation, the file's name, type, size, url."""
    received: list[Event] = []

    async def take(event: Event, session) -> None:
        received.append(event)

    async with kit_clients(settings) as clients:
        consumer = make_consumer(settings, clients, {FILE_READY: take})
        await consumer.start()
        publisher = EventPublisher(clients.broker, settings.events_exchange)
        await publisher.start()
        relay = OutboxRelay(db, publisher, idle_poll_seconds=0.05)
        relaying = asyncio.create_task(relay.run())
        try:
            report_id = await a_cdr_report(jobs)
            await asyncio.wait_for(runner(db, jobs, Rows()).run(report_id), 60)
            await eventually(lambda: bool(received), timeout=30, what="file.ready consumed")
        finally:
            relaying.cancel()
            await asyncio.gather(relaying, return_exceptions=True)

    job = await jobs.jobs.load(report_id)
    assert job is not None and job["status"] == "succeeded"
    (event,) = received
    assert event.company_id == COMPANY and event.source == "/services/documents"
    (made,) = job["files"]
    assert event.data == {
        "company_id": COMPANY,
        "operation_id": report_id,
        "kind": "report",
        "type": "cdr",
        "name": made["name"],
        "content_type": made["content_type"],
        "size": str(made["size"]),
        "url": f"/api/v1/reports/{report_id}/file",
        "created_by": job["created_by"],
    }
    assert made["size"] > 0 and made["name"].endswith(".csv")
