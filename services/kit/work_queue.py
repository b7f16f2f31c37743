"""A work queue on RabbitMQ: job ids handed to whichever worker replica is free.

The job itself lives in MongoDB; a message only says "job X is due". So a message may be
lost or repeated without harm: the worker claims the job with a lease in the database
(a repeat finds it claimed or finished and is acknowledged), and a sweeper re-dispatches
jobs that are due but unclaimed (scheduled ones, or those of a worker that died). A
message is acknowledged only after its handler returned, so a worker killed mid-job gives
the message back to the queue at once.

One durable quorum queue per kind of job, with a dead-letter queue for a message that
keeps failing (`x-delivery-limit`).

A job is run in the trace of the call that made it, in a span of its own: the broker's
instrumentation carries the trace in the message's headers, whether the call dispatched
the job itself or a sweeper did (within the trace kept on the job, kit.job_leases); a
sweep's own reads are traced by nobody.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
    DeliveryMode,
)

from services.kit.broker import PUBLISH_TIMEOUT_SECONDS
from services.kit.metrics import JOB_SECONDS, JOBS, timed
from services.kit.tracing import consuming, untraced, within

log = logging.getLogger(__name__)

DELIVERY_LIMIT = 20
DUE_PER_SWEEP = 50
JobHandler = Callable[[str], Awaitable[None]]
# Hands a job to the queue by its id (WorkQueue.dispatch).
Dispatch = Callable[[str], Awaitable[None]]
# (now, redispatch_after, limit) → ids of jobs due and held by nobody (kit.job_leases.due).
DueJobs = Callable[[datetime, timedelta, int], Awaitable[list[str]]]
# What else a worker tidies on each sweep (expired files, say), given the time.
Housekeeping = Callable[[datetime], Awaitable[None]]


class WorkQueue:
    def __init__(self, connection: AbstractRobustConnection, name: str) -> None:
        self._connection = connection
        self._name = name
        self._channel: AbstractRobustChannel | None = None
        # Kept: the robust connection restores only queues still referenced.
        self._queue: AbstractRobustQueue | None = None

    @property
    def name(self) -> str:
        return self._name

    async def start(self, *, prefetch: int = 1) -> None:
        """Declare the queue (and its dead letters) on a confirming channel."""
        channel = await self._connection.channel(publisher_confirms=True)
        await channel.set_qos(prefetch_count=prefetch)
        dead_letters = f"{self._name}.dlq"
        await channel.declare_queue(
            dead_letters, durable=True, arguments={"x-queue-type": "quorum"}
        )
        self._queue = await channel.declare_queue(
            self._name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dead_letters,
                "x-delivery-limit": DELIVERY_LIMIT,
            },
        )
        self._channel = channel

    async def dispatch(self, job_id: str) -> None:
        """Returns once the broker has the message (publisher confirm)."""
        if self._channel is None:
            raise RuntimeError("WorkQueue.start() was not awaited")
        message = aio_pika.Message(
            body=job_id.encode(), message_id=job_id, delivery_mode=DeliveryMode.PERSISTENT
        )
        await self._channel.default_exchange.publish(
            message, routing_key=self._name, timeout=PUBLISH_TIMEOUT_SECONDS
        )

    async def consume(self, handler: JobHandler) -> None:
        if self._queue is None:
            raise RuntimeError("WorkQueue.start() was not awaited")

        async def on_message(message: AbstractIncomingMessage) -> None:
            job_id = message.body.decode(errors="replace")
            attributes = {"messaging.destination.name": self._name, "job.id": job_id}
            try:
                with (
                    consuming(f"{self._name} job", None, attributes),
                    timed(JOB_SECONDS, self._name),
                ):
                    await handler(job_id)
            except Exception:
                log.exception("job failed; it goes back to the queue", extra={"job": job_id})
                JOBS.labels(self._name, "failed").inc()
                await message.nack(requeue=True)
                return
            JOBS.labels(self._name, "done").inc()
            await message.ack()

        await self._queue.consume(on_message)


async def hand_over(
    dispatch: Dispatch | None, job_id: str, undispatched: Callable[[str], Awaitable[None]]
) -> None:
    """Hands a job its call has just made to the queue. The job was made marked as
    dispatched, so that no sweeper hands it over again while a worker is on its way to it
    (one did within its first second whenever the worker was slow to claim it); if it
    cannot go (no broker yet, or it did not confirm), the mark is taken back and the next
    sweep, within a second, hands it over."""
    if dispatch is not None:
        try:
            await dispatch(job_id)
            return
        except Exception as error:
            log.warning("job not dispatched", extra={"job": job_id, "error": str(error)[:200]})
    try:
        await undispatched(job_id)
    except Exception as error:  # the database is away too: sweepers hand it over in a lease
        log.warning("job left marked dispatched", extra={"job": job_id, "error": str(error)[:200]})


async def take_work(
    queue: WorkQueue,
    run: JobHandler,
    due: DueJobs,
    *,
    prefetch: int,
    lease_seconds: float,
    sweep_seconds: float,
    housekeeping: Housekeeping | None = None,
) -> None:
    """A worker replica's life: run the jobs the queue hands it (`prefetch` at once) and,
    every `sweep_seconds`, hand the queue what is due and held by nobody (scheduled jobs
    whose time has come, those of a worker that died). Every replica sweeps; the
    `dispatched_at` mark of kit.job_leases keeps them from handing a job over together."""
    await queue.start(prefetch=prefetch)
    await queue.consume(run)
    log.info("taking work", extra={"queue": queue.name})
    redispatch_after = timedelta(seconds=lease_seconds)
    while True:
        try:
            now = datetime.now(UTC)
            with untraced():
                due_now = await due(now, redispatch_after, DUE_PER_SWEEP)
            for job_id in due_now:
                # In the trace of the call that made the job (kit.job_leases.DueJob).
                with within(getattr(job_id, "traceparent", None)):
                    await queue.dispatch(job_id)
            if housekeeping is not None:
                with untraced():
                    await housekeeping(now)
        except Exception as error:  # the database or broker is away: the next sweep retries
            log.warning("sweep paused", extra={"queue": queue.name, "error": str(error)[:200]})
        await asyncio.sleep(sweep_seconds)
