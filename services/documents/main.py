"""Composition root of documents: `python -m services.documents`."""

from __future__ import annotations

import asyncio

from services.documents.grpc_api import ACCESS_POLICY, SERVICE_NAMES, DocumentsOperatorServicer
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import ServiceRuntime, serve_until_stopped, start_service
from services.kit.settings import Settings
from vm.documents.v1 import documents_pb2_grpc as pb_grpc

NAME = "documents"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    companies = KnownCompanies(runtime.db)
    servicer = DocumentsOperatorServicer(companies)
    registrars = [(pb_grpc.add_DocumentsOperatorServiceServicer_to_server, servicer)]
    await start_service(
        runtime, registrars, SERVICE_NAMES, ACCESS_POLICY, companies.handlers(), address
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
