"""Composition root of catalog: `python -m services.catalog`."""

from __future__ import annotations

import asyncio

from services.catalog.grpc_api import ACCESS_POLICY, SERVICE_NAMES, CatalogOperatorServicer
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import ServiceRuntime, remote_authenticator, serve_until_stopped
from services.kit.settings import Settings
from vm.catalog.v1 import catalog_pb2_grpc

NAME = "catalog"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    companies = KnownCompanies(runtime.db)
    await runtime.start(
        servicers=[
            (
                catalog_pb2_grpc.add_CatalogOperatorServiceServicer_to_server,
                CatalogOperatorServicer(companies),
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
