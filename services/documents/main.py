"""Composition root of documents: `python -m services.documents`."""

from __future__ import annotations

import asyncio

from aio_pika.abc import AbstractRobustConnection

from services.documents import consumers
from services.documents.grpc_api import ACCESS_POLICY, SERVICE_NAMES, registrars
from services.documents.peers import CatalogPeer, OperatorPeers
from services.documents.service import DocumentsCases
from services.documents.service.documents import DocumentCases
from services.documents.service.forms import FormCases
from services.documents.service.jobs import JobCases
from services.documents.service.journal import JournalCases
from services.documents.service.report_rows import ReportRows
from services.documents.service.reports import ReportCases
from services.documents.store.documents import DocumentStore
from services.documents.store.files import GeneratedFiles
from services.documents.store.jobs import JobStore
from services.documents.store.journal import JournalStore
from services.documents.store.targets import ReportNumbers
from services.kit.grpc_client import open_channel
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import (
    ServiceRuntime,
    caller_access_resolver,
    serve_until_stopped,
    start_service,
)
from services.kit.settings import Settings
from services.kit.work_queue import WorkQueue

NAME = "documents"


def jobs_queue(settings: Settings) -> str:
    """The work queue through which documents' jobs reach the documents workers."""
    return f"{settings.amqp_prefix}documents.jobs"


def build_cases(runtime: ServiceRuntime) -> DocumentsCases:
    settings = runtime.settings
    runtime.caller_access = runtime.caller_access or caller_access_resolver(settings)
    access = runtime.caller_access
    catalog = CatalogPeer(open_channel(settings.catalog_addr))
    peers = OperatorPeers(
        open_channel(settings.billing_addr),
        open_channel(settings.identity_addr),
        settings.operator_token.get_secret_value(),
    )
    journal_store = JournalStore(runtime.db)
    journal = JournalCases(journal_store, catalog, access)
    jobs = JobCases(JobStore(runtime.db), journal, runtime.transactions, runtime.outbox)
    journal.cancel_own_with(jobs.cancel)
    files = GeneratedFiles(runtime.db)
    numbers = ReportNumbers(runtime.db)
    document_store = DocumentStore(runtime.db)
    return DocumentsCases(
        journal=journal,
        forms=FormCases(peers, access),
        jobs=jobs,
        reports=ReportCases(jobs, numbers, files, catalog, access),
        documents=DocumentCases(jobs, document_store, files, peers, access),
        document_store=document_store,
        report_rows=ReportRows(numbers, peers),
        files=files,
        peers=peers,
        journal_store=journal_store,
        report_numbers=numbers,
    )


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    companies = KnownCompanies(runtime.db)
    cases = build_cases(runtime)
    await start_service(
        runtime,
        registrars(cases, companies),
        SERVICE_NAMES,
        ACCESS_POLICY,
        consumers.handlers(companies, cases.journal),
        address,
        prepare=cases.ensure_indexes,
    )

    async def dispatch_jobs(broker: AbstractRobustConnection) -> None:
        queue = WorkQueue(broker, jobs_queue(settings))
        await queue.start()
        cases.jobs.dispatch_with(queue.dispatch)

    runtime.when_ready(dispatch_jobs)
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
