"""Composition root of the documents worker: `python -m services.documents.worker`.

A process of its own, scaled on its own: it takes job ids from the work queue
`documents.jobs` and runs them (service/runner.py), mailing financial documents through
SMTP (VM_SMTP_HOST, VM_SMTP_PORT); a sweeper hands the queue the jobs
that are due and held by nobody (those of a worker that died), and deletes generated
files older than the retention period. It serves grpc.health.v1 on
VM_DOCUMENTS_WORKER_PORT (SERVING while MongoDB answers, once it is up) and nothing else.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from services.documents.main import NAME, build_cases, jobs_queue
from services.documents.service.document_maker import DocumentMaker
from services.documents.service.runner import JobRunner, RunnerSettings
from services.kit.delivery import SmtpMailSender
from services.kit.runtime import (
    ServiceRuntime,
    WorkSource,
    run_service_process,
    serve_worker,
    start_worker,
)
from services.kit.settings import Settings

JOBS_AT_ONCE = 2
EXPIRED_PER_SWEEP = 100


async def start(settings: Settings, address: str | None = None) -> tuple[ServiceRuntime, JobRunner]:
    runtime = ServiceRuntime.create(NAME, settings)
    cases = build_cases(runtime)
    runner = JobRunner(
        cases.jobs,
        cases.files,
        cases.report_rows,
        cases.peers,
        DocumentMaker(
            cases.document_store,
            cases.files,
            cases.peers,
            runtime.transactions,
            SmtpMailSender(settings.smtp_host, settings.smtp_port, settings.mail_from),
        ),
        RunnerSettings(lease=timedelta(seconds=settings.work_lease_seconds)),
    )

    retention = timedelta(days=settings.documents_retention_days)

    async def discard_expired_files(now: datetime) -> None:
        for file_id in await cases.files.older_than(now - retention, EXPIRED_PER_SWEEP):
            await cases.files.discard(file_id)
            await cases.document_store.forget_file(file_id)

    await start_worker(
        runtime,
        runner,
        WorkSource(
            jobs_queue(settings), cases.jobs.jobs.leases.due, JOBS_AT_ONCE, discard_expired_files
        ),
        prepare=cases.ensure_indexes,
        address=address or f"{settings.grpc_host}:{settings.documents_worker_port}",
    )
    return runtime, runner


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_worker(start, settings, stop)


if __name__ == "__main__":
    run_service_process("documents-worker", serve)
