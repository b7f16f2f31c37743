"""services/kit/work_queue.py: a worker replica's loop against the real RabbitMQ.

What is due reaches a handler through the queue; a handler that fails gets the job again;
a sweep that cannot reach the database pauses and the next one goes on; housekeeping
runs on every sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta

import pytest

from services.kit.settings import Settings
from services.kit.work_queue import WorkQueue, take_work
from tests.support.kit import Clients, eventually

pytestmark = pytest.mark.integration


class DueJobs:
    """The database's answer to "what is due": each id once, unless it is given back;
    the first `failures` sweeps find the database away."""

    def __init__(self, ids: list[str], failures: int = 0) -> None:
        self.waiting = list(ids)
        self.failures = failures
        self.asked = 0

    async def __call__(self, now: datetime, redispatch_after: timedelta, limit: int) -> list[str]:
        self.asked += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the database is away")
        due, self.waiting = self.waiting[:limit], self.waiting[limit:]
        return due


@contextlib.asynccontextmanager
async def worker(
    settings: Settings,
    clients: Clients,
    run: Callable[[str], Awaitable[None]],
    due: DueJobs,
    housekeeping: Callable[[datetime], Awaitable[None]] | None = None,
) -> AsyncIterator[None]:
    queue = WorkQueue(clients.broker, f"{settings.amqp_prefix}test.jobs")
    loop = asyncio.create_task(
        take_work(
            queue,
            run,
            due,
            prefetch=2,
            lease_seconds=5,
            sweep_seconds=0.05,
            housekeeping=housekeeping,
        )
    )
    try:
        yield
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def test_what_is_due_reaches_the_handler_once(settings: Settings, clients: Clients):
    ran: list[str] = []

    async def run(job_id: str) -> None:
        ran.append(job_id)

    due = DueJobs([f"job-{n}" for n in range(120)])  # more than one sweep hands over
    async with worker(settings, clients, run, due):
        await eventually(lambda: len(ran) == 120, what="every job run")
        await asyncio.sleep(0.2)  # nothing more arrives
    assert sorted(ran) == sorted(f"job-{n}" for n in range(120))


async def test_a_failing_handler_gets_the_job_again(settings: Settings, clients: Clients):
    attempts: list[str] = []

    async def run(job_id: str) -> None:
        attempts.append(job_id)
        if len(attempts) < 3:
            raise RuntimeError("the worker's database call failed")

    async with worker(settings, clients, run, DueJobs(["job-1"])):
        await eventually(lambda: len(attempts) == 3, what="the job taken a third time")
    assert attempts == ["job-1"] * 3


async def test_a_sweep_that_fails_pauses_and_housekeeping_runs(
    settings: Settings, clients: Clients
):
    ran: list[str] = []
    tidied: list[datetime] = []

    async def run(job_id: str) -> None:
        ran.append(job_id)

    async def housekeeping(now: datetime) -> None:
        tidied.append(now)

    due = DueJobs(["job-1"], failures=3)
    async with worker(settings, clients, run, due, housekeeping):
        await eventually(lambda: ran == ["job-1"], what="the job after the database came back")
        await eventually(lambda: len(tidied) >= 2, what="housekeeping on later sweeps")
    assert due.asked >= 4
    assert tidied == sorted(tidied)
