"""Composition root of catalog: `python -m services.catalog`."""

from __future__ import annotations

import asyncio

from services.catalog import consumers
from services.catalog.grpc_api import ACCESS_POLICY, SERVICE_NAMES, registrars
from services.catalog.provisioning import SimulatedProvisioning
from services.catalog.service import CatalogCases
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import (
    ServiceRuntime,
    caller_access_resolver,
    serve_until_stopped,
    start_service,
)
from services.kit.settings import Settings

NAME = "catalog"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    runtime.caller_access = caller_access_resolver(settings)
    companies = KnownCompanies(runtime.db)
    cases = CatalogCases.create(
        runtime.db,
        runtime.transactions,
        runtime.outbox,
        runtime.caller_access,
        provisioning=SimulatedProvisioning.from_settings(settings),
    )
    await start_service(
        runtime,
        registrars(cases, companies),
        SERVICE_NAMES,
        ACCESS_POLICY,
        consumers.handlers(companies, cases),
        address,
        prepare=cases.ensure_indexes,
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
