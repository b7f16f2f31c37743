"""Composition root of catalog's bulk worker: `python -m services.catalog.bulk_worker`.

A process of its own, scaled on its own (as many replicas as the load needs): it takes
operation ids from the work queue `catalog.operations` and runs them (service/bulk_runner.py);
a sweeper hands the queue the operations that are due and held by nobody (scheduled ones
whose time has come, those of a worker that died). It serves grpc.health.v1 on
VM_CATALOG_WORKER_PORT (SERVING while MongoDB answers, once it is up) and nothing else.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.catalog.main import NAME, billing_accounts, operations_queue, simulated_network
from services.catalog.service.bulk_runner import BulkRunner, WorkerSettings
from services.catalog.store.intents import IntentStore
from services.catalog.store.operations import OperationStore
from services.kit.delivery import HttpSmsCentre
from services.kit.runtime import (
    ServiceRuntime,
    WorkSource,
    run_service_process,
    serve_worker,
    start_worker,
)
from services.kit.settings import Settings

# Operations one worker runs at once (each in batches, with its own network concurrency).
OPERATIONS_AT_ONCE = 2


def build_runner(runtime: ServiceRuntime, intents: IntentStore) -> BulkRunner:
    settings = runtime.settings
    db = runtime.db
    return BulkRunner.on_database(
        db,
        runtime.transactions,
        runtime.outbox,
        simulated_network(runtime),
        HttpSmsCentre(settings.sms_centre_url),
        accounts=billing_accounts(settings),
        settings=WorkerSettings(
            batch_size=settings.bulk_batch_size,
            lease=timedelta(seconds=settings.work_lease_seconds),
        ),
        intents=intents,
    )


async def start(
    settings: Settings, address: str | None = None
) -> tuple[ServiceRuntime, BulkRunner]:
    runtime = ServiceRuntime.create(NAME, settings)
    intents = IntentStore(runtime.db)
    runner = build_runner(runtime, intents)
    store = OperationStore(runtime.db)

    async def prepare() -> None:
        await store.ensure_indexes()
        await intents.ensure_indexes()  # the numbers' holds: whichever process starts first

    await start_worker(
        runtime,
        runner,
        WorkSource(operations_queue(settings), store.due, OPERATIONS_AT_ONCE),
        prepare=prepare,
        address=address or f"{settings.grpc_host}:{settings.catalog_worker_port}",
    )
    return runtime, runner


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_worker(start, settings, stop)


if __name__ == "__main__":
    run_service_process("catalog-worker", serve)
