"""Composition root of documents: `python -m services.documents`."""

from __future__ import annotations

import asyncio

from services.documents.grpc_api import ACCESS_POLICY, SERVICE_NAMES, DocumentsOperatorServicer
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import ServiceRuntime, remote_authenticator, serve_until_stopped
from services.kit.settings import Settings
from vm.documents.v1 import documents_pb2_grpc

NAME = "documents"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    companies = KnownCompanies(runtime.db)
    await runtime.start(
        servicers=[
            (
                documents_pb2_grpc.add_DocumentsOperatorServiceServicer_to_server,
                DocumentsOperatorServicer(companies),
            )
        ],
        service_names=SERVICE_NAMES,
        policy=ACCESS_POLICY,
        authenticator=remote_authenticator(settings),
        handlers=companies.handlers(),
        address=address,
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
