"""A work queue on RabbitMQ: job ids handed to whichever worker replica is free.

The job itself lives in MongoDB; a message only says "job X is due". So a message may be
lost or repeated without harm: the worker claims the job with a lease in the database
(a repeat finds it claimed or finished and is acknowledged), and a sweeper re-dispatches
jobs that are due but unclaimed (scheduled ones, or those of a worker that died). A
message is acknowledged only after its handler returned, so a worker killed mid-job gives
the message back to the queue at once.

One durable quorum queue per kind of job, with a dead-letter queue for a message that
keeps failing (`x-delivery-limit`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
    DeliveryMode,
)

from services.kit.broker import PUBLISH_TIMEOUT_SECONDS

log = logging.getLogger(__name__)

DELIVERY_LIMIT = 20
JobHandler = Callable[[str], Awaitable[None]]


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
            try:
                await handler(job_id)
            except Exception:
                log.exception("job failed; it goes back to the queue", extra={"job": job_id})
                await message.nack(requeue=True)
                return
            await message.ack()

        await self._queue.consume(on_message)
