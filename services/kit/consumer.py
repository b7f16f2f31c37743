"""The event consumer: one durable quorum queue per service, with a dead-letter queue.

Each event is applied in one MongoDB transaction together with a row in
`processed_events` keyed by the event id, so a redelivered event has no second effect
(at-least-once delivery + dedupe = exactly-once effect). A handler that fails is retried
by redelivery up to the queue's delivery limit, then the message goes to the dead-letter
queue for a person to look at; a message that is not a CloudEvent goes there at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection, AbstractRobustQueue
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kit.broker import declare_events_exchange
from services.kit.context import request_id_var
from services.kit.events import Event, decode_event
from services.kit.metrics import EVENTS_CONSUMED, EVENTS_REDELIVERED, QUEUE_MESSAGES
from services.kit.mongo import Transactions
from services.kit.tracing import consuming

log = logging.getLogger(__name__)


class _AlreadyApplied(Exception):
    """The event's marker exists: leave the transaction (rolling it back), change nothing."""


EventHandler = Callable[[Event, AsyncClientSession], Awaitable[None]]
PROCESSED = "processed_events"
DELIVERY_LIMIT = 5


def topic_matches(pattern: str, event_type: str) -> bool:
    """AMQP topic matching, as the exchange routes: `*` is one word, `#` zero or more."""
    return _words_match(pattern.split("."), event_type.split("."))


def _words_match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_words_match(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words or (head != "*" and head != words[0]):
        return False
    return _words_match(rest, words[1:])


def handler_for(handlers: Mapping[str, EventHandler], event_type: str) -> EventHandler | None:
    """The handler of exactly this type, else the first pattern's (e.g. `vm.#`, all events).
    A handler key is also its queue's binding key, so patterns bind as patterns."""
    if event_type in handlers:
        return handlers[event_type]
    for key, handler in handlers.items():
        if ("*" in key or "#" in key) and topic_matches(key, event_type):
            return handler
    return None


def _span_attributes(event: Event) -> dict[str, str]:
    return {
        "cloudevents.event_id": event.id,
        "cloudevents.event_type": event.type,
        "cloudevents.event_source": event.source,
    }


class EventConsumer:
    def __init__(
        self,
        *,
        service: str,
        connection: AbstractRobustConnection,
        db: AsyncDatabase,
        transactions: Transactions,
        exchange_name: str,
        queue_prefix: str,
        handlers: Mapping[str, EventHandler],
        prefetch: int = 64,
    ) -> None:
        self._service = service
        self._connection = connection
        self._processed = db[PROCESSED]
        self._transactions = transactions
        self._exchange_name = exchange_name
        self._queue_name = f"{queue_prefix}{service}.events"
        self._handlers = dict(handlers)
        self._prefetch = prefetch
        self._queue: AbstractRobustQueue | None = None  # kept: robust reconnects restore it

    @property
    def queue_name(self) -> str:
        return self._queue_name

    async def start(self) -> None:
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)
        exchange = await declare_events_exchange(channel, self._exchange_name)
        dead_letters = await channel.declare_exchange(
            f"{self._exchange_name}.dlx", aio_pika.ExchangeType.DIRECT, durable=True
        )
        dlq_name = f"{self._queue_name}.dlq"
        dlq = await channel.declare_queue(
            dlq_name, durable=True, arguments={"x-queue-type": "quorum"}
        )
        await dlq.bind(dead_letters, routing_key=dlq_name)
        self._queue = await channel.declare_queue(
            self._queue_name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": dead_letters.name,
                "x-dead-letter-routing-key": dlq_name,
                "x-delivery-limit": DELIVERY_LIMIT,
            },
        )
        for event_type in self._handlers:
            await self._queue.bind(exchange, routing_key=event_type)
        await self._queue.consume(self._on_message)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if message.redelivered:
            EVENTS_REDELIVERED.inc()
        try:
            event = decode_event(message.body)
        except Exception:  # not a CloudEvent: nothing to retry
            log.error(
                "undecodable message sent to the dead-letter queue",
                extra={"message_id": message.message_id},
            )
            EVENTS_CONSUMED.labels("", "undecodable").inc()
            await message.reject(requeue=False)
            return
        request_id_var.set(f"event:{event.id}")
        try:
            # The event's producer's trace goes on here (CloudEvents' `traceparent`).
            with consuming(f"{event.type} process", event.traceparent, _span_attributes(event)):
                applied = await self.apply(event)
        except Exception:
            log.exception(
                "event handler failed; it will be redelivered",
                extra={"event_type": event.type, "event_id": event.id},
            )
            EVENTS_CONSUMED.labels(event.type, "failed").inc()
            await message.nack(requeue=True)
            return
        EVENTS_CONSUMED.labels(event.type, "applied" if applied else "duplicate").inc()
        await message.ack()

    async def measure_queues(self) -> None:
        """The depth of the service's queue (its lag) and of its dead letters."""
        channel = await self._connection.channel()
        try:
            for name in (self._queue_name, f"{self._queue_name}.dlq"):
                queue = await channel.declare_queue(name, passive=True)
                QUEUE_MESSAGES.labels(name).set(queue.declaration_result.message_count or 0)
        finally:
            await channel.close()

    async def apply(self, event: Event) -> bool:
        """Apply an event once; returns False when it had already been applied."""
        handler = handler_for(self._handlers, event.type)
        if handler is None:
            return False

        async def once(session: AsyncClientSession) -> bool:
            # The marker goes in first: a repeat fails on its unique _id and the whole
            # transaction, effect included, is rolled back (one statement fewer than
            # looking first, and no window between the look and the write).
            try:
                await self._processed.insert_one(
                    {"_id": event.id, "type": event.type, "applied_at": datetime.now(UTC)},
                    session=session,
                )
            except DuplicateKeyError as repeat:
                raise _AlreadyApplied from repeat
            await handler(event, session)
            return True

        try:
            return await self._transactions.run(once)
        except _AlreadyApplied:
            return False
