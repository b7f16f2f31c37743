"""Composition root of tickets: `python -m services.tickets`."""

from __future__ import annotations

import asyncio

from services.kit.delivery import SmtpMailSender
from services.kit.grpc_client import open_channel
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import (
    ServiceRuntime,
    caller_access_resolver,
    serve_until_stopped,
    start_service,
)
from services.kit.settings import Settings
from services.tickets import consumers
from services.tickets.grpc_api import ACCESS_POLICY, SERVICE_NAMES, registrars
from services.tickets.peers import CatalogNumbers, IdentityPeople
from services.tickets.service import TicketCases

NAME = "tickets"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    runtime.caller_access = caller_access_resolver(settings)
    companies = KnownCompanies(runtime.db)
    cases = TicketCases.create(
        runtime.db,
        runtime.transactions,
        runtime.outbox,
        runtime.caller_access,
        people=IdentityPeople(open_channel(settings.identity_addr)),
        numbers=CatalogNumbers(open_channel(settings.catalog_addr)),
        mail=SmtpMailSender(settings.smtp_host, settings.smtp_port, settings.mail_from),
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
