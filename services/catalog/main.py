"""Composition root of catalog: `python -m services.catalog`."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aio_pika.abc import AbstractRobustConnection

from services.catalog import consumers
from services.catalog.billing_accounts import BillingAccountChanges
from services.catalog.grpc_api import ACCESS_POLICY, SERVICE_NAMES, registrars
from services.catalog.provisioning import SimulatedProvisioning
from services.catalog.service import CatalogCases
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

NAME = "catalog"


def billing_accounts(settings: Settings) -> BillingAccountChanges:
    """Billing, for the bulk types it keeps (limits, the account a number is billed to)."""
    return BillingAccountChanges(
        open_channel(settings.billing_addr), settings.operator_token.get_secret_value()
    )


def simulated_network(runtime: ServiceRuntime) -> SimulatedProvisioning:
    """The provisioning simulator, its memory in a database of its own shared by catalog
    and its workers (the network is not catalog's: never in catalog's transactions)."""
    settings = runtime.settings
    network_db = runtime.mongo.get_database(settings.database_name("network"))
    return SimulatedProvisioning.from_settings(settings, network_db)


def operations_queue(settings: Settings) -> str:
    """The work queue through which bulk operations reach the bulk workers."""
    return f"{settings.amqp_prefix}catalog.operations"


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    runtime.caller_access = caller_access_resolver(settings)
    companies = KnownCompanies(runtime.db)
    cases = CatalogCases.create(
        runtime.db,
        runtime.transactions,
        runtime.outbox,
        runtime.caller_access,
        provisioning=simulated_network(runtime),
        accounts=billing_accounts(settings),
        # A change the network has not answered within a claim's lease is the reconciler's.
        provisioning_lease=timedelta(seconds=settings.work_lease_seconds),
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

    async def dispatch_operations(broker: AbstractRobustConnection) -> None:
        queue = WorkQueue(broker, operations_queue(settings))
        await queue.start()
        cases.bulk.dispatch_with(queue.dispatch)

    async def reconcile_provisioning(_: AbstractRobustConnection) -> None:
        await cases.saga.run_reconciler(settings.work_sweep_seconds)

    runtime.when_ready(dispatch_operations)
    runtime.when_ready(reconcile_provisioning)
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
