"""Helpers for the integration tests of services/kit: real clients, a counting tap on the
events exchange, an effect that shows how often each event was applied, and polling."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.broker import connect_broker, declare_events_exchange
from services.kit.consumer import EventConsumer, EventHandler
from services.kit.events import Event
from services.kit.mongo import Transactions, connect_mongo
from services.kit.outbox import OUTBOX, events_of
from services.kit.settings import Settings

# The broker namespace cleanup of tests/conftest.py deletes the queues of this service name.
CONSUMER = "test"


async def eventually(
    check: Callable[[], Awaitable[bool]] | Callable[[], bool],
    *,
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "the condition",
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout}s")
        await asyncio.sleep(interval)


@dataclass
class Clients:
    mongo: AsyncMongoClient
    db: AsyncDatabase
    transactions: Transactions
    broker: AbstractRobustConnection
    # The consumers made over these clients (make_consumer): stopped before they close.
    consumers: list[EventConsumer] = field(default_factory=list)


@asynccontextmanager
async def kit_clients(settings: Settings) -> AsyncIterator[Clients]:
    """A MongoDB client on the test's own database and a broker connection."""
    mongo = connect_mongo(settings.mongo_url, app_name="kit-tests")
    broker = await connect_broker(settings.amqp_url, name="kit-tests")
    opened = Clients(
        mongo=mongo,
        db=mongo.get_database(settings.database_name(CONSUMER)),
        transactions=Transactions(mongo),
        broker=broker,
    )
    try:
        yield opened
    finally:
        for consumer in opened.consumers:
            await consumer.stop()
        await broker.close()
        await mongo.close()


def make_consumer(
    settings: Settings,
    clients: Clients,
    handlers: Mapping[str, EventHandler],
    *,
    consumer_class: type[EventConsumer] = EventConsumer,
    **options: Any,
) -> EventConsumer:
    consumer = consumer_class(
        service=CONSUMER,
        connection=clients.broker,
        db=clients.db,
        transactions=clients.transactions,
        exchange_name=settings.events_exchange,
        queue_prefix=settings.amqp_prefix,
        handlers=handlers,
        **options,
    )
    clients.consumers.append(consumer)
    return consumer


class CountingConsumer(EventConsumer):
    """The real consumer; it also counts, per event id, how often it was handed the event
    (`attempts`: alone or in a batch), how often it finished with it (`handled`) and how
    often it applied it."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.attempts: Counter[str] = Counter()
        self.handled: Counter[str] = Counter()
        self.applied: Counter[str] = Counter()
        self.batches: list[int] = []  # the size of each batch it tried

    async def apply(self, event: Event) -> bool:
        self.attempts[event.id] += 1
        applied = await super().apply(event)
        self.handled[event.id] += 1
        if applied:
            self.applied[event.id] += 1
        return applied

    async def apply_batch(self, events: Sequence[Event], **kwargs: Any) -> list[bool]:
        self.attempts.update(e.id for e in events)
        self.batches.append(len(events))
        effects = await super().apply_batch(events, **kwargs)
        self.handled.update(e.id for e in events)
        self.applied.update(e.id for e, effect in zip(events, effects, strict=True) if effect)
        return effects


class Effects:
    """A handler with a visible effect: `$inc` the counter of the entity the event is about
    (`data.n`) and insert a row. Rows are not unique by event id on purpose: an event
    applied twice leaves two rows (and a counter at 2)."""

    def __init__(self, db: AsyncDatabase) -> None:
        self.rows = db["effect_rows"]
        self.counters = db["effect_counters"]

    async def __call__(self, event: Event, session: AsyncClientSession) -> None:
        await self.counters.update_one(
            {"_id": event.data.get("n")}, {"$inc": {"count": 1}}, upsert=True, session=session
        )
        await self.rows.insert_one(
            {"event_id": event.id, "n": event.data.get("n")}, session=session
        )

    async def count(self) -> int:
        return sum([doc["count"] async for doc in self.counters.find({})])

    async def counts(self) -> Counter[object]:
        return Counter({doc["_id"]: doc["count"] async for doc in self.counters.find({})})

    async def rows_per_event(self) -> Counter[str]:
        return Counter([doc["event_id"] async for doc in self.rows.find({}, {"event_id": 1})])


class Tap:
    """An exclusive queue bound to every routing key: sees every message the exchange
    routed, so deliveries can be counted apart from what the consumer applied."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.order: list[str] = []
        self.on_delivery: Callable[[], None] | None = None  # called as each message arrives
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def start(self, connection: AbstractRobustConnection, exchange_name: str) -> None:
        self._channel = await connection.channel()
        exchange = await declare_events_exchange(self._channel, exchange_name)
        queue = await self._channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        self.seen[message.message_id or ""] += 1
        self.order.append(message.message_id or "")
        if self.on_delivery is not None:
            self.on_delivery()

    @property
    def total(self) -> int:
        return sum(self.seen.values())

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()


async def outbox_events(db: AsyncDatabase, query: Mapping[str, Any] | None = None) -> list[Event]:
    """The events in a service's outbox, each of a batch document's too (a run of one type
    is one document), in the order of their time: the `_id`s of two processes' documents
    made within one second are not in the order written."""
    cursor = db[OUTBOX].find(dict(query or {}))
    events = [event async for document in cursor for event in events_of(document)]
    return sorted(events, key=lambda event: event.time)
