"""Composition root of billing: `python -m services.billing`."""

from __future__ import annotations

import asyncio

from aio_pika.abc import AbstractRobustConnection

from services.billing import consumers, scheduler
from services.billing.grpc_api import ACCESS_POLICY, SERVICE_NAMES, registrars
from services.billing.service import BillingCases
from services.kit.delivery import HttpSmsCentre, SmtpMailSender
from services.kit.runtime import (
    ServiceRuntime,
    caller_access_resolver,
    serve_until_stopped,
    start_service,
)
from services.kit.settings import Settings

NAME = "billing"


async def start(
    settings: Settings, address: str | None = None, *, scheduler_tick: float | None = None
) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    runtime.caller_access = caller_access_resolver(settings)
    cases = BillingCases.create(
        runtime.db,
        runtime.transactions,
        runtime.outbox,
        runtime.caller_access,
        sms=HttpSmsCentre(settings.sms_centre_url),
        mail=SmtpMailSender(settings.smtp_host, settings.smtp_port, settings.mail_from),
    )
    companies = cases.stores.companies
    await start_service(
        runtime,
        registrars(cases, companies),
        SERVICE_NAMES,
        ACCESS_POLICY,
        consumers.handlers(companies, cases),
        address,
        prepare=cases.ensure_indexes,
    )

    async def clock(broker: AbstractRobustConnection) -> None:
        await scheduler.run(cases, scheduler_tick or scheduler.TICK_SECONDS)

    runtime.when_ready(clock)
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
