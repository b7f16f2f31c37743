"""The event consumer: one durable quorum queue per service, with a dead-letter queue.

Events are applied in batches: what the queue has handed over now (up to the channel's
prefetch, gathered for at most BATCH_WAIT_SECONDS after the first) goes into one MongoDB
transaction together with a row per event in `processed_events` keyed by the event id, so
a redelivered event has no second effect (at-least-once delivery + dedupe = exactly-once
effect), and a burst costs one commit instead of one per event. A few batches are applied
at once (as events were, one transaction each, before): no order between events is kept,
only each event's single effect. A handler may be a `BatchHandler`, which applies a run of
events with bulk writes, or `AppliedAlone`, whose events are never batched (its effect
reaches outside the database).

A message may carry a CloudEvents batch (a run of events of one type, as the outbox writes
it): its events join the batches like any others, and the message is acked once each of
them is settled.

If a batch fails (not a transient conflict: those are retried whole), its events are
applied again one by one, each in its own transaction: one bad event is then retried
alone by redelivery up to the queue's delivery limit, and goes to the dead-letter queue for
a person to look at, while the others are applied. A bad event that came in a batch
message is first handed on alone (published to this queue by itself), so that it, not its
message's other events, is what is retried and dead-lettered. A message that is not a
CloudEvent (or a batch of them) goes there at once. So a handler may run more than once
for one event (a batch retried or failed by another event): whatever it does outside the
transaction is repeated.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractIncomingMessage,
    AbstractRobustChannel,
    AbstractRobustConnection,
    AbstractRobustQueue,
)
from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.kit.broker import PUBLISH_TIMEOUT_SECONDS, declare_events_exchange, event_message
from services.kit.context import request_id_var
from services.kit.events import (
    BATCH_CONTENT_TYPE,
    Event,
    decode_batch,
    decode_event,
    encode_event,
)
from services.kit.metrics import (
    EVENTS_CONSUMED,
    EVENTS_IN_HAND,
    EVENTS_REDELIVERED,
    QUEUE_MESSAGES,
)
from services.kit.mongo import Transactions
from services.kit.tracing import consuming, span

log = logging.getLogger(__name__)


class _AlreadyApplied(Exception):
    """The event's marker exists: leave the transaction (rolling it back), change nothing."""


EventHandler = Callable[[Event, AsyncClientSession], Awaitable[None]]
ApplyAll = Callable[[Sequence[Event], AsyncClientSession], Awaitable[None]]
PROCESSED = "processed_events"
DELIVERY_LIMIT = 5
# How long a batch may wait for more events after its first: a burst arrives within a few
# milliseconds; a lone event must not wait for company.
BATCH_WAIT_SECONDS = 0.003
# How long a batch's transaction is run again on write conflicts before its events are
# applied one by one. Two batches that write one document (billing's guard of a company
# without an account, for a run of its new numbers) take turns: the later one waits for the
# earlier's commit, which on a loaded database takes longer than a call's 15 s. Giving up
# then turned a run of 200 into 200 transactions, each meeting the same conflict.
BATCH_PATIENCE_SECONDS = 90.0


@dataclass(frozen=True)
class BatchHandler:
    """A handler that applies several events at once (bulk writes). The consumer hands it
    each run of consecutive events of a batch routed to it, in delivery order, so its
    effect must equal applying them one after the other. It is an `EventHandler` too.

    `keyed_by_event`: its effect is written under each event's id and a repeat of the
    event leaves it as it is (an upsert with `$setOnInsert`, as the audit log's entries).
    Such an event needs no marker in `processed_events`: the effect is its own, and a
    redelivery writes nothing new. It saves a write per event, and it is counted as
    applied each time it comes."""

    apply_all: ApplyAll
    keyed_by_event: bool = False

    async def __call__(self, event: Event, session: AsyncClientSession) -> None:
        await self.apply_all([event], session)


@dataclass(frozen=True)
class AppliedAlone:
    """A handler whose effect reaches outside the database (an SMS, an e-mail): its events
    are never batched with others, so that another event's failure never runs it again."""

    handler: EventHandler

    async def __call__(self, event: Event, session: AsyncClientSession) -> None:
        await self.handler(event, session)


class _Settlement:
    """The events of one message settle it together: it is acked once each of them has
    been applied (or handed on alone), and requeued if one could be neither."""

    def __init__(self, message: AbstractIncomingMessage, events: int) -> None:
        self.message = message
        self.events = events
        self.left = events
        self._requeue = False
        _IN_HAND.add(self)

    async def settle(self, *, requeue: bool = False) -> None:
        self._requeue = self._requeue or requeue
        self.left -= 1
        if self.left > 0:
            return
        if self._requeue:
            await self.message.nack(requeue=True)
        else:
            await self.message.ack()


# The messages in hand, for EVENTS_IN_HAND: a message's settlement lives as long as one of its
# events waits or is being applied, and is forgotten with them (also when a lost channel
# left it unsettled: the broker delivers the message again).
_IN_HAND: weakref.WeakSet[_Settlement] = weakref.WeakSet()
EVENTS_IN_HAND.set_function(lambda: sum(settlement.left for settlement in list(_IN_HAND)))


@dataclass(frozen=True)
class _Delivery:
    settlement: _Settlement
    event: Event
    span: SpanContext  # the broker instrumentation's span of the delivery (its message's)


def _events_in(message: AbstractIncomingMessage) -> list[Event]:
    if message.content_type == BATCH_CONTENT_TYPE:
        return decode_batch(message.body)
    return [decode_event(message.body)]


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


def _processing(event: Event, delivery: SpanContext | None) -> AbstractContextManager[Span]:
    # The event's producer's trace goes on here (CloudEvents' `traceparent`).
    return consuming(
        f"{event.type} process", event.traceparent, _span_attributes(event), delivery=delivery
    )


def _keyed_by_event(handler: EventHandler | None) -> bool:
    return isinstance(handler, BatchHandler) and handler.keyed_by_event


def _marker(event: Event) -> dict[str, Any]:
    return {"_id": event.id, "type": event.type, "applied_at": datetime.now(UTC)}


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
        batches_in_flight: int = 2,
        most_events_per_batch: int = 200,
    ) -> None:
        """`prefetch` bounds the messages in hand, `most_events_per_batch` a transaction's
        events; `batches_in_flight` batches are applied at once, so a slow one does not
        hold up the queue, and the database's round trips overlap."""
        self._service = service
        self._connection = connection
        self._processed = db[PROCESSED]
        self._transactions = transactions
        self._exchange_name = exchange_name
        self._queue_name = f"{queue_prefix}{service}.events"
        self._handlers = dict(handlers)
        self._prefetch = prefetch
        self._batches_in_flight = batches_in_flight
        self._most_events = most_events_per_batch
        self._queue: AbstractRobustQueue | None = None  # kept: robust reconnects restore it
        self._hand_on: AbstractRobustChannel | None = None  # confirms: a bad event re-queued
        self._delivered: asyncio.Queue[_Delivery] = asyncio.Queue()
        self._appliers: list[asyncio.Task[None]] = []
        self._consumer_tag: str | None = None
        self._channel: AbstractRobustChannel | None = None  # the queue's: closed on stop

    @property
    def queue_name(self) -> str:
        return self._queue_name

    async def start(self) -> None:
        self._channel = channel = await self._connection.channel()
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
        self._hand_on = await self._connection.channel(publisher_confirms=True)
        # A context of its own: the batches belong to no caller's trace (each event's span
        # continues its own producer's).
        self._appliers = [
            asyncio.create_task(self._apply_batches(), context=contextvars.Context())
            for _ in range(self._batches_in_flight)
        ]
        self._consumer_tag = await self._queue.consume(self._on_message)

    async def stop(self) -> None:
        """Takes no more messages, ends the batches in hand and closes its channels. A
        batch cut short is rolled back with its transaction; never acked, its messages go
        at once to another consumer of the queue (another replica, or this service when it
        starts again). Applying is idempotent, so a batch whose commit the cut came just
        after is not applied twice."""
        # The appliers first: they need no broker, which may be away while this stops.
        for applier in self._appliers:
            applier.cancel()
        await asyncio.gather(*self._appliers, return_exceptions=True)
        self._appliers = []
        if self._queue is not None and self._consumer_tag is not None:
            try:
                await self._queue.cancel(self._consumer_tag)
            except Exception as error:  # the channel is gone: it takes nothing more anyway
                log.info("the queue's consumer was not cancelled", extra={"error": str(error)})
            self._consumer_tag = None
        for channel in (self._channel, self._hand_on):
            if channel is not None and not channel.is_closed:
                try:
                    await channel.close()
                except Exception as error:  # already going with its connection
                    log.info("a channel did not close", extra={"error": str(error)})
        self._channel = self._hand_on = None

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if message.redelivered:
            EVENTS_REDELIVERED.inc()
        try:
            events = _events_in(message)
        except Exception:  # not a CloudEvent: nothing to retry
            log.error(
                "undecodable message sent to the dead-letter queue",
                extra={"message_id": message.message_id},
            )
            EVENTS_CONSUMED.labels("", "undecodable").inc()
            await message.reject(requeue=False)
            return
        delivery_span = trace.get_current_span().get_span_context()
        settlement = _Settlement(message, len(events))
        for event in events:
            self._delivered.put_nowait(_Delivery(settlement, event, delivery_span))

    async def _apply_batches(self) -> None:
        while True:
            batch = await self._next_batch()
            try:
                await self._apply_delivered(batch)
            except Exception:  # e.g. the channel went away mid-ack: redelivered anyway
                log.exception("a batch of events was not settled")

    async def _next_batch(self) -> list[_Delivery]:
        """The first delivery, and what else arrives within BATCH_WAIT_SECONDS of it."""
        batch = [await self._delivered.get()]
        deadline = asyncio.get_running_loop().time() + BATCH_WAIT_SECONDS
        while len(batch) < self._most_events:
            if not self._delivered.empty():
                batch.append(self._delivered.get_nowait())
                continue
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._delivered.get(), left))
            except TimeoutError:
                break
        return batch

    async def _apply_delivered(self, delivered: list[_Delivery]) -> None:
        alone: list[_Delivery] = []
        batch: list[_Delivery] = []
        for delivery in delivered:
            handler = handler_for(self._handlers, delivery.event.type)
            (alone if isinstance(handler, AppliedAlone) else batch).append(delivery)
        for delivery in alone:
            await self._apply_alone(delivery)
        if len(batch) > 1:
            try:
                with self._batch_span(batch):
                    applied = await self.apply_batch(
                        [d.event for d in batch], delivery_spans=[d.span for d in batch]
                    )
            except Exception:
                log.warning(
                    "a batch of events failed; applying them one by one",
                    exc_info=True,
                    extra={"events": len(batch)},
                )
            else:
                for delivery, effect in zip(batch, applied, strict=True):
                    EVENTS_CONSUMED.labels(
                        delivery.event.type, "applied" if effect else "duplicate"
                    ).inc()
                    await delivery.settlement.settle()
                return
        for delivery in batch:
            await self._apply_alone(delivery)

    def _batch_span(self, batch: list[_Delivery]) -> AbstractContextManager[Span]:
        """The batch's own span: its one transaction is of no single event's trace, so it
        goes in this one, which names the queue and links every message it applies (each
        event's own span is in that event's trace, inside the transaction)."""
        return span(
            f"{self._queue_name} process",
            {
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "process",
                "messaging.destination.name": self._queue_name,
                "messaging.batch.message_count": len(batch),
            },
            links=[delivery.span for delivery in batch],
        )

    async def _apply_alone(self, delivery: _Delivery) -> None:
        event = delivery.event
        request_id_var.set(f"event:{event.id}")
        try:
            with _processing(event, delivery.span):
                applied = await self.apply(event)
        except Exception:
            log.exception(
                "event handler failed; it will be redelivered",
                extra={"event_type": event.type, "event_id": event.id},
            )
            EVENTS_CONSUMED.labels(event.type, "failed").inc()
            await self._retry_later(delivery)
            return
        EVENTS_CONSUMED.labels(event.type, "applied" if applied else "duplicate").inc()
        await delivery.settlement.settle()

    async def _retry_later(self, delivery: _Delivery) -> None:
        """A failed event comes again by redelivery. One of a batch message is handed on
        alone first: redelivering the whole message would run its applied events again
        each time and dead-letter them with it."""
        if delivery.settlement.events == 1:
            await delivery.settlement.settle(requeue=True)
            return
        try:
            await self._publish_alone(delivery.event)
        except Exception:  # the broker is away: the whole message comes again instead
            log.warning("a failed event could not be handed on alone", exc_info=True)
            await delivery.settlement.settle(requeue=True)
            return
        await delivery.settlement.settle()

    async def _publish_alone(self, event: Event) -> None:
        assert self._hand_on is not None, "start() opens the channel"
        message = event_message(event.id, event.type, encode_event(event))
        await self._hand_on.default_exchange.publish(
            message, routing_key=self._queue_name, timeout=PUBLISH_TIMEOUT_SECONDS
        )

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
            if _keyed_by_event(handler):
                await handler(event, session)
                return True
            # The marker goes in first: a repeat fails on its unique _id and the whole
            # transaction, effect included, is rolled back (one statement fewer than
            # looking first, and no window between the look and the write).
            try:
                await self._processed.insert_one(_marker(event), session=session)
            except DuplicateKeyError as repeat:
                raise _AlreadyApplied from repeat
            await handler(event, session)
            return True

        try:
            return await self._transactions.run(once)
        except _AlreadyApplied:
            return False

    async def apply_batch(
        self, events: Sequence[Event], *, delivery_spans: Sequence[SpanContext] | None = None
    ) -> list[bool]:
        """Apply the events in one transaction; for each, whether it had an effect (False:
        applied before, a repeat earlier in the batch, or no handler). Raises, with nothing
        applied, when a handler fails."""
        spans = dict(zip((e.id for e in events), delivery_spans or (), strict=False))
        # Each event once, in delivery order (copies of one event are the same event), with
        # its handler looked up once.
        routed = {e.id: (e, h) for e in events if (h := handler_for(self._handlers, e.type))}
        firsts = [e for e, _ in routed.values()]
        marked = [e for e, h in routed.values() if not _keyed_by_event(h)]

        async def work(session: AsyncClientSession) -> set[str]:
            seen: set[str] = set()
            if marked:
                ids = [e.id for e in marked]
                cursor = self._processed.find({"_id": {"$in": ids}}, {"_id": 1}, session=session)
                seen = {doc["_id"] async for doc in cursor}
            new = [e for e in firsts if e.id not in seen]
            if not new:
                return set()
            # A replica applying some of them meanwhile makes this a write conflict: the
            # transaction is retried, and the retry's snapshot has that replica's markers.
            # (Were it a duplicate key, the batch would fail and its events, applied one
            # by one, would find those markers just as well.)
            markers = [_marker(e) for e in marked if e.id not in seen]
            if markers:
                await self._processed.insert_many(markers, session=session)
            await self._handle(new, session, spans)
            return {e.id for e in new}

        applied = (
            await self._transactions.run(work, patience=BATCH_PATIENCE_SECONDS) if firsts else set()
        )
        effects = []
        for event in events:
            effects.append(event.id in applied)
            applied.discard(event.id)  # a repeat later in the batch had no effect
        return effects

    async def _handle(
        self, events: list[Event], session: AsyncClientSession, spans: Mapping[str, SpanContext]
    ) -> None:
        """Each event's handler in delivery order; a batch handler's run of them at once."""
        for handler, grouped in itertools.groupby(
            events, key=lambda e: handler_for(self._handlers, e.type)
        ):
            run = list(grouped)
            if isinstance(handler, BatchHandler):
                request_id_var.set(f"event:{run[0].id}")
                with ExitStack() as processing:  # a span per event, as when applied alone
                    for event in run:
                        processing.enter_context(_processing(event, spans.get(event.id)))
                    await handler.apply_all(run, session)
                continue
            assert handler is not None  # only events with a handler get here
            for event in run:
                request_id_var.set(f"event:{event.id}")
                with _processing(event, spans.get(event.id)):
                    await handler(event, session)
