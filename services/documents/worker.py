"""Composition root of the documents worker: `python -m services.documents.worker`.

A process of its own, scaled on its own: it takes job ids from the work queue
`documents.jobs` and runs them (service/runner.py), mailing financial documents through
SMTP (VM_SMTP_HOST, VM_SMTP_PORT); a sweeper hands the queue the jobs
that are due and held by nobody (those of a worker that died), and deletes generated
files older than the retention period. It serves grpc.health.v1 on
VM_DOCUMENTS_WORKER_PORT (SERVING while MongoDB and RabbitMQ answer) and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from aio_pika.abc import AbstractRobustConnection

from services.documents.main import NAME, build_cases, jobs_queue
from services.documents.service.document_maker import DocumentMaker
from services.documents.service.runner import JobRunner, RunnerSettings
from services.documents.store.documents import DocumentStore
from services.documents.store.files import GeneratedFiles
from services.documents.store.jobs import JobStore
from services.kit.delivery import SmtpMailSender
from services.kit.grpc_server import AccessPolicy
from services.kit.runtime import ServiceRuntime, remote_authenticator, run_service_process
from services.kit.settings import Settings
from services.kit.work_queue import WorkQueue

log = logging.getLogger(__name__)

JOBS_AT_ONCE = 2
DUE_PER_SWEEP = 50
EXPIRED_PER_SWEEP = 100


async def sweep(
    jobs: JobStore,
    files: GeneratedFiles,
    documents: DocumentStore,
    queue: WorkQueue,
    settings: Settings,
) -> None:
    redispatch_after = timedelta(seconds=settings.work_lease_seconds)
    retention = timedelta(days=settings.documents_retention_days)
    while True:
        try:
            now = datetime.now(UTC)
            for job_id in await jobs.leases.due(now, redispatch_after, DUE_PER_SWEEP):
                await queue.dispatch(job_id)
            for file_id in await files.older_than(now - retention, EXPIRED_PER_SWEEP):
                await files.discard(file_id)
                await documents.forget_file(file_id)
        except Exception as error:  # the database or broker is away: the next sweep retries
            log.warning("sweep paused", extra={"error": str(error)[:200]})
        await asyncio.sleep(settings.work_sweep_seconds)


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

    async def consume(broker: AbstractRobustConnection) -> None:
        queue = WorkQueue(broker, jobs_queue(settings))
        await queue.start(prefetch=JOBS_AT_ONCE)
        await queue.consume(runner.run)
        log.info("taking jobs", extra={"queue": queue.name})
        await sweep(cases.jobs.jobs, cases.files, cases.document_store, queue, settings)

    await runtime.start(
        servicers=[],
        service_names=[],
        policy=AccessPolicy(),
        authenticator=remote_authenticator(settings),
        prepare=cases.ensure_indexes,
        address=address or f"{settings.grpc_host}:{settings.documents_worker_port}",
    )
    runtime.when_ready(consume)
    return runtime, runner


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    runtime, runner = await start(settings)
    await stop.wait()
    await runner.stop(settings.grpc_grace_seconds)
    await runtime.stop()


if __name__ == "__main__":
    run_service_process("documents-worker", serve)
