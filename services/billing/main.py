"""Composition root of billing: `python -m services.billing`."""

from __future__ import annotations

import asyncio

from services.billing.grpc_api import ACCESS_POLICY, SERVICE_NAMES, BillingOperatorServicer
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import ServiceRuntime, serve_until_stopped, start_service
from services.kit.settings import Settings
from vm.billing.v1 import billing_pb2_grpc as pb_grpc

NAME = "billing"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    companies = KnownCompanies(runtime.db)
    servicer = BillingOperatorServicer(companies)
    registrars = [(pb_grpc.add_BillingOperatorServiceServicer_to_server, servicer)]
    await start_service(
        runtime, registrars, SERVICE_NAMES, ACCESS_POLICY, companies.handlers(), address
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
