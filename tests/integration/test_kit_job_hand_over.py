"""A job its call made goes to the queue once: made marked as dispatched and handed over by
the call, no sweeper hands it over again while the worker it went to is slow to claim it;
a job the call could not hand over (no broker yet, or no confirm) is the next sweep's.
Real RabbitMQ, the real embedded database, kit.job_leases' sweep."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.job_leases import JobLeases
from services.kit.settings import Settings
from services.kit.work_queue import Dispatch, WorkQueue, hand_over, take_work
from tests.support.kit import Clients, eventually

pytestmark = pytest.mark.integration

# Long beside the sweeps: a job marked dispatched is left alone for all of the test.
LEASE_SECONDS = 60.0


class Sweeps:
    """JobLeases.due, counted."""

    def __init__(self, leases: JobLeases) -> None:
        self.leases = leases
        self.count = 0

    async def __call__(self, now: datetime, redispatch_after: timedelta, limit: int) -> list[str]:
        self.count += 1
        return await self.leases.due(now, redispatch_after, limit)


@contextlib.asynccontextmanager
async def worker(
    settings: Settings, clients: Clients, run: Callable[[str], Awaitable[None]], sweeps: Sweeps
) -> AsyncIterator[WorkQueue]:
    queue = WorkQueue(clients.broker, f"{settings.amqp_prefix}test.hand-over")
    loop = asyncio.create_task(
        take_work(queue, run, sweeps, prefetch=4, lease_seconds=LEASE_SECONDS, sweep_seconds=0.02)
    )
    await eventually(lambda: sweeps.count > 0, what="the worker sweeping")
    try:
        yield queue
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def made_by_a_call(db: AsyncDatabase, job_id: str) -> None:
    """A job due at once, as a call makes one it hands over itself."""
    now = datetime.now(UTC)
    await db["jobs"].insert_one(
        {
            "_id": job_id,
            "status": "pending",
            "run_after": now,
            "holder": None,
            "lease_until": None,
            "dispatched_at": now,
        }
    )


async def test_a_job_handed_over_by_its_call_reaches_the_worker_once(
    settings: Settings, clients: Clients, db: AsyncDatabase
) -> None:
    leases = JobLeases(db["jobs"], ["pending"])
    sweeps = Sweeps(leases)
    deliveries: list[str] = []
    release = asyncio.Event()

    async def slow_to_claim(job_id: str) -> None:
        deliveries.append(job_id)
        await release.wait()  # never claims while the sweeps go by

    async with worker(settings, clients, slow_to_claim, sweeps) as queue:
        await made_by_a_call(db, "job-1")
        await hand_over(queue.dispatch, "job-1", leases.undispatched)
        await eventually(lambda: deliveries == ["job-1"], what="the job delivered")
        swept = sweeps.count
        await eventually(lambda: sweeps.count >= swept + 25, what="25 sweeps after it")
        release.set()
    assert deliveries == ["job-1"]


@pytest.mark.parametrize("broker", ["away", "not yet known"])
async def test_a_job_its_call_could_not_hand_over_is_the_next_sweeps(
    settings: Settings, clients: Clients, db: AsyncDatabase, broker: str
) -> None:
    leases = JobLeases(db["jobs"], ["pending"])
    deliveries: list[str] = []

    async def run(job_id: str) -> None:
        deliveries.append(job_id)

    async def unconfirmed(job_id: str) -> None:
        raise TimeoutError("the broker did not confirm")

    dispatch: Dispatch | None = unconfirmed if broker == "away" else None
    async with worker(settings, clients, run, Sweeps(leases)):
        await made_by_a_call(db, "job-2")
        await hand_over(dispatch, "job-2", leases.undispatched)
        # Well inside the lease after which a job marked dispatched is handed over again.
        await eventually(lambda: deliveries == ["job-2"], timeout=10, what="the sweep's")
