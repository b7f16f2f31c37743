"""Composition root of catalog's bulk worker: `python -m services.catalog.bulk_worker`.

A process of its own, scaled on its own (as many replicas as the load needs): it takes
operation ids from the work queue `catalog.operations` and runs them (service/bulk_runner.py);
a sweeper hands the queue the operations that are due and held by nobody (scheduled ones
whose time has come, those of a worker that died). It serves grpc.health.v1 on
VM_CATALOG_WORKER_PORT (SERVING while MongoDB and RabbitMQ answer) and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from aio_pika.abc import AbstractRobustConnection

from services.catalog.main import NAME, billing_accounts, operations_queue
from services.catalog.provisioning import SimulatedProvisioning
from services.catalog.service.bulk_runner import BulkRunner, WorkerSettings
from services.catalog.store.catalogue import CatalogueStore
from services.catalog.store.hierarchy import NodeStore
from services.catalog.store.number_changes import NumberChanges
from services.catalog.store.numbers import NumberStore
from services.catalog.store.operations import OperationStore
from services.kit.delivery import HttpSmsCentre
from services.kit.grpc_server import AccessPolicy
from services.kit.runtime import ServiceRuntime, remote_authenticator, run_service_process
from services.kit.settings import Settings
from services.kit.work_queue import WorkQueue

log = logging.getLogger(__name__)

# Operations one worker runs at once (each in batches, with its own network concurrency).
OPERATIONS_AT_ONCE = 2
DUE_PER_SWEEP = 50


def build_runner(runtime: ServiceRuntime) -> BulkRunner:
    settings = runtime.settings
    db = runtime.db
    return BulkRunner(
        OperationStore(db),
        NumberStore(db),
        NodeStore(db),
        CatalogueStore(db),
        NumberChanges(db),
        runtime.transactions,
        runtime.outbox,
        SimulatedProvisioning.from_settings(settings),
        HttpSmsCentre(settings.sms_centre_url),
        accounts=billing_accounts(settings),
        settings=WorkerSettings(
            batch_size=settings.bulk_batch_size,
            lease=timedelta(seconds=settings.work_lease_seconds),
        ),
    )


async def sweep(store: OperationStore, queue: WorkQueue, settings: Settings) -> None:
    """Hand the queue what is due and held by nobody; every replica sweeps, and the
    `dispatched_at` mark keeps them from handing the same operation over together."""
    redispatch_after = timedelta(seconds=settings.work_lease_seconds)
    while True:
        try:
            for operation_id in await store.due(datetime.now(UTC), redispatch_after, DUE_PER_SWEEP):
                await queue.dispatch(operation_id)
        except Exception as error:  # the database or broker is away: the next sweep retries
            log.warning("sweep paused", extra={"error": str(error)[:200]})
        await asyncio.sleep(settings.work_sweep_seconds)


async def start(
    settings: Settings, address: str | None = None
) -> tuple[ServiceRuntime, BulkRunner]:
    runtime = ServiceRuntime.create(NAME, settings)
    runner = build_runner(runtime)
    store = OperationStore(runtime.db)

    async def consume(broker: AbstractRobustConnection) -> None:
        queue = WorkQueue(broker, operations_queue(settings))
        await queue.start(prefetch=OPERATIONS_AT_ONCE)
        await queue.consume(runner.run)
        log.info("taking operations", extra={"queue": queue.name})
        await sweep(store, queue, settings)

    await runtime.start(
        servicers=[],
        service_names=[],
        policy=AccessPolicy(),
        authenticator=remote_authenticator(settings),
        prepare=store.ensure_indexes,
        address=address or f"{settings.grpc_host}:{settings.catalog_worker_port}",
    )
    runtime.when_ready(consume)
    return runtime, runner


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    runtime, runner = await start(settings)
    await stop.wait()
    await runner.stop(settings.grpc_grace_seconds)
    await runtime.stop()


if __name__ == "__main__":
    run_service_process("catalog-worker", serve)
