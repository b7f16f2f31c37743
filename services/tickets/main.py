"""Composition root of tickets: `python -m services.tickets`."""

from __future__ import annotations

import asyncio

from services.kit.known_companies import KnownCompanies
from services.kit.runtime import ServiceRuntime, remote_authenticator, serve_until_stopped
from services.kit.settings import Settings
from services.tickets.grpc_api import ACCESS_POLICY, SERVICE_NAMES, TicketsOperatorServicer
from vm.tickets.v1 import tickets_pb2_grpc

NAME = "tickets"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    companies = KnownCompanies(runtime.db)
    await runtime.start(
        servicers=[
            (
                tickets_pb2_grpc.add_TicketsOperatorServiceServicer_to_server,
                TicketsOperatorServicer(companies),
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
