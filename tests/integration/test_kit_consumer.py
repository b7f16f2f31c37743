"""services/kit/consumer.py: dedupe by event id, retries, and the dead-letter queue —
against the real RabbitMQ (quorum queues) and the real MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import json

import aio_pika
import pytest

from services.kit.broker import EventPublisher
from services.kit.consumer import DELIVERY_LIMIT, PROCESSED
from services.kit.events import Event, encode_event, new_event
from services.kit.settings import Settings
from tests.support.kit import (
    CONSUMER,
    Clients,
    CountingConsumer,
    Effects,
    eventually,
    make_consumer,
)

pytestmark = pytest.mark.integration

HAPPENED = "vm.test.thing.happened.v1"
FAILED = "vm.test.thing.failed.v1"


@pytest.fixture
async def publisher(settings: Settings, clients: Clients) -> EventPublisher:
    publisher = EventPublisher(clients.broker, settings.events_exchange)
    await publisher.start()
    return publisher


async def publish(publisher: EventPublisher, event: Event) -> None:
    await publisher.publish(event.id, event.type, encode_event(event))


async def dead_letters(settings: Settings, clients: Clients) -> list[aio_pika.IncomingMessage]:
    """Everything now in `{prefix}test.events.dlq` (taken off it)."""
    channel = await clients.broker.channel()
    try:
        queue = await channel.get_queue(f"{settings.amqp_prefix}{CONSUMER}.events.dlq")
        taken = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            taken.append(message)
        return taken
    finally:
        await channel.close()


async def wait_for_dead_letters(settings, clients, count: int) -> list:
    found: list = []

    async def enough() -> bool:
        found.extend(await dead_letters(settings, clients))
        return len(found) >= count

    await eventually(enough, timeout=15, interval=0.1, what=f"{count} dead letters")
    return found


def thing(n: int, event_type: str = HAPPENED) -> Event:
    return new_event(event_type, {"n": n}, source="/test", company_id="cmp_1")


async def test_the_same_event_delivered_twice_is_applied_once(settings, clients, publisher):
    effects = Effects(clients.db)
    consumer = make_consumer(
        settings, clients, {HAPPENED: effects}, consumer_class=CountingConsumer
    )
    await consumer.start()
    event = thing(1)

    await publish(publisher, event)
    await publish(publisher, event)
    await eventually(lambda: consumer.handled[event.id] == 2, what="both deliveries handled")

    assert await effects.rows_per_event() == {event.id: 1}
    assert await effects.count() == 1
    assert consumer.applied[event.id] == 1
    processed = await clients.db[PROCESSED].find_one({"_id": event.id})
    assert processed["type"] == HAPPENED


async def test_many_copies_delivered_at_once_are_applied_once(settings, clients, publisher):
    effects = Effects(clients.db)
    consumer = make_consumer(
        settings, clients, {HAPPENED: effects}, consumer_class=CountingConsumer
    )
    await consumer.start()
    events = [thing(n) for n in range(5)]

    await asyncio.gather(*(publish(publisher, e) for e in events for _ in range(6)))
    await eventually(lambda: sum(consumer.handled.values()) == 30, what="all 30 deliveries handled")

    assert await effects.rows_per_event() == {e.id: 1 for e in events}
    assert await effects.count() == 5


async def test_apply_says_whether_the_event_had_an_effect(settings, clients):
    effects = Effects(clients.db)
    consumer = make_consumer(settings, clients, {HAPPENED: effects})
    event = thing(7)

    assert await consumer.apply(event) is True
    assert await consumer.apply(event) is False
    assert await consumer.apply(thing(8, "vm.test.other.happened.v1")) is False
    assert await effects.rows_per_event() == {event.id: 1}


async def test_only_the_types_with_a_handler_reach_the_queue(settings, clients, publisher):
    effects = Effects(clients.db)
    consumer = make_consumer(
        settings, clients, {HAPPENED: effects}, consumer_class=CountingConsumer
    )
    await consumer.start()
    other = thing(1, "vm.test.other.happened.v1")
    wanted = thing(2)

    await publish(publisher, other)
    await publish(publisher, wanted)
    await eventually(lambda: consumer.handled[wanted.id] == 1, what="the wanted event")

    assert other.id not in consumer.attempts
    assert await effects.rows_per_event() == {wanted.id: 1}


@pytest.mark.parametrize(
    "body",
    [
        b"\x00\x01 not json at all",
        b'{"hello": "world"}',
        # JSON that looks like an event but has no id: it could not be deduplicated.
        json.dumps(
            {"specversion": "1.0", "type": HAPPENED, "source": "/test", "data": {"n": 1}}
        ).encode(),
    ],
    ids=["bytes", "json-not-an-event", "event-without-id"],
)
async def test_an_undecodable_message_goes_to_the_dead_letter_queue_at_once(
    settings, clients, publisher, body
):
    effects = Effects(clients.db)
    consumer = make_consumer(
        settings, clients, {HAPPENED: effects}, consumer_class=CountingConsumer
    )
    await consumer.start()

    await publisher.publish("poison-1", HAPPENED, body)
    [dead] = await wait_for_dead_letters(settings, clients, 1)

    assert dead.body == body
    assert dead.message_id == "poison-1"
    [death] = dead.headers["x-death"]
    assert death["reason"] == "rejected"
    assert death["queue"] == consumer.queue_name
    assert sum(consumer.attempts.values()) == 0
    assert await effects.count() == 0

    # The consumer goes on with the next (good) event.
    good = thing(1)
    await publish(publisher, good)
    await eventually(lambda: consumer.applied[good.id] == 1, what="the next event applied")


async def test_a_handler_that_always_fails_ends_in_the_dead_letter_queue(
    settings, clients, publisher
):
    calls = 0

    async def always_fails(event, session):
        nonlocal calls
        calls += 1
        await clients.db["effect_rows"].insert_one({"event_id": event.id}, session=session)
        raise RuntimeError("the handler has a bug")

    consumer = make_consumer(settings, clients, {FAILED: always_fails})
    await consumer.start()
    event = thing(1, FAILED)

    await publish(publisher, event)
    [dead] = await wait_for_dead_letters(settings, clients, 1)

    assert json.loads(dead.body)["id"] == event.id
    assert dead.headers["x-death"][0]["reason"] == "delivery_limit"
    assert DELIVERY_LIMIT <= calls <= DELIVERY_LIMIT + 1
    # Every attempt was rolled back: no effect, and not marked as processed.
    assert await clients.db["effect_rows"].count_documents({}) == 0
    assert await clients.db[PROCESSED].count_documents({}) == 0
    await asyncio.sleep(0.3)
    assert calls <= DELIVERY_LIMIT + 1, "a dead-lettered message is not delivered again"


async def test_a_handler_that_fails_once_is_retried_and_applied_once(settings, clients, publisher):
    effects = Effects(clients.db)
    failures: dict[str, int] = {}

    async def flaky(event, session):
        await effects(event, session)  # written, then rolled back by the failure below
        if failures.setdefault(event.id, 0) < 2:
            failures[event.id] += 1
            raise ConnectionError("a dependency blinked")

    consumer = make_consumer(settings, clients, {HAPPENED: flaky}, consumer_class=CountingConsumer)
    await consumer.start()
    events = [thing(n) for n in range(3)]

    for event in events:
        await publish(publisher, event)
    await eventually(
        lambda: all(consumer.applied[e.id] == 1 for e in events), what="all applied after retries"
    )

    # Tried in a batch and then alone when its batch failed: at least three times.
    assert all(consumer.attempts[e.id] >= 3 for e in events)
    assert all(consumer.handled[e.id] == 1 for e in events)
    assert await effects.rows_per_event() == {e.id: 1 for e in events}
    assert await effects.count() == 3
    assert await dead_letters(settings, clients) == []


async def test_the_trace_parent_of_the_event_is_the_handlers_context(settings, clients, publisher):
    from services.kit.context import request_id_var, trace_id
    from services.kit.tracing import within
    from tests.support.tracing import parent_id, recorded_spans

    seen = []

    async def record(event, session):
        seen.append((request_id_var.get(), trace_id()))

    consumer = make_consumer(settings, clients, {HAPPENED: record})
    await consumer.start()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with within(traceparent):
        event = thing(1)

    # Published by hand, outside the event's trace: the handler's span is still in it, a
    # child of the producer's span the event names.
    processed = f"{HAPPENED} process"
    with recorded_spans() as spans:
        await publish(publisher, event)
        await eventually(
            lambda: any(s.name == processed for s in spans.get_finished_spans()),
            what="the handler ran",
        )
        [span] = [s for s in spans.get_finished_spans() if s.name == processed]

    _, trace, producer, _ = traceparent.split("-")
    assert seen == [(f"event:{event.id}", trace)]
    assert parent_id(span) == producer
    assert span.attributes["cloudevents.event_id"] == event.id


async def test_a_stopped_consumer_hands_the_event_it_held_to_the_next(settings, clients, publisher):
    """Stopping mid-batch: the first consumer's transaction is rolled back, its task ends,
    and the event it never acked is applied once, by the consumer that takes over."""
    effects = Effects(clients.db)
    entered = asyncio.Event()

    async def never_finishes(event, session):
        await effects(event, session)  # written in the transaction, rolled back by the stop
        entered.set()
        await asyncio.Event().wait()

    stopping = make_consumer(settings, clients, {HAPPENED: never_finishes})
    await stopping.start()
    event = thing(1)
    await publish(publisher, event)
    await asyncio.wait_for(entered.wait(), 20)

    await asyncio.wait_for(stopping.stop(), 10)

    assert await effects.count() == 0
    taking_over = make_consumer(
        settings, clients, {HAPPENED: effects}, consumer_class=CountingConsumer
    )
    await taking_over.start()
    await eventually(lambda: taking_over.applied[event.id] == 1, what="applied by the next")
    assert await effects.rows_per_event() == {event.id: 1}
