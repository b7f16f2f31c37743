"""Composition root of tickets: `python -m services.tickets`."""

from __future__ import annotations

import asyncio

from services.kit.known_companies import KnownCompanies
from services.kit.runtime import ServiceRuntime, serve_until_stopped, start_service
from services.kit.settings import Settings
from services.tickets.grpc_api import ACCESS_POLICY, SERVICE_NAMES, TicketsOperatorServicer
from vm.tickets.v1 import tickets_pb2_grpc as pb_grpc

NAME = "tickets"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    companies = KnownCompanies(runtime.db)
    servicer = TicketsOperatorServicer(companies)
    registrars = [(pb_grpc.add_TicketsOperatorServiceServicer_to_server, servicer)]
    await start_service(
        runtime, registrars, SERVICE_NAMES, ACCESS_POLICY, companies.handlers(), address
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
