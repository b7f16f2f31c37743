"""services/kit/consumer.py applies what the queue has handed over in batches, one
transaction each: every event still has one effect (repeats inside a batch, across batches
and across replicas have none), and a poison event is dead-lettered alone while the good
events of its batch are applied. Against the real RabbitMQ and MongoDB-protocol server.

A batch is made deterministic by holding the handler on a first event (applied alone)
until the consumer has received everything published after it."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import REGISTRY
from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.broker import EventPublisher
from services.kit.consumer import PROCESSED, AppliedAlone, BatchHandler, EventHandler
from services.kit.events import BATCH_CONTENT_TYPE, Event, encode_batch, encode_event, new_event
from services.kit.settings import Settings
from tests.integration.test_kit_consumer import dead_letters, wait_for_dead_letters
from tests.support.kit import Clients, CountingConsumer, Effects, eventually, make_consumer

pytestmark = pytest.mark.integration

HAPPENED = "vm.test.thing.happened.v1"
NOTED = "vm.test.thing.noted.v1"


class ReceivingConsumer(CountingConsumer):
    """Also counts the deliveries it has received (and not yet applied)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received = 0

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        await super()._on_message(message)
        self.received += 1


class Gate:
    """After `close()`, the next handler to pass waits until `open()`."""

    def __init__(self) -> None:
        self._closed = False
        self.holding = asyncio.Event()
        self._opened = asyncio.Event()

    def close(self) -> None:
        self._closed, self._opened = True, asyncio.Event()
        self.holding.clear()

    def open(self) -> None:
        self._opened.set()

    async def passing(self) -> None:
        if self._closed:
            self._closed = False
            self.holding.set()
            await self._opened.wait()

    def before(self, handler: EventHandler) -> EventHandler:
        async def held(event: Event, session: AsyncClientSession) -> None:
            await self.passing()
            await handler(event, session)

        return held


@pytest.fixture
async def publisher(settings: Settings, clients: Clients) -> EventPublisher:
    publisher = EventPublisher(clients.broker, settings.events_exchange)
    await publisher.start()
    return publisher


def thing(n: int, event_type: str = HAPPENED, **data: Any) -> Event:
    return new_event(event_type, {"n": n, **data}, source="/test", company_id="cmp_1")


async def publish(publisher: EventPublisher, event: Event) -> None:
    await publisher.publish(event.id, event.type, encode_event(event))


async def in_one_batch(
    publisher: EventPublisher,
    consumer: ReceivingConsumer,
    gate: Gate,
    events: Sequence[Event],
    gate_event: Event,
) -> None:
    """Publish `gate_event`, which the handler holds, then `events` (in order); let it go
    once the consumer has them all: they are its next batch."""
    await eventually(
        lambda: sum(consumer.handled.values()) == consumer.received, what="the last batch done"
    )
    gate.close()
    await publish(publisher, gate_event)
    await eventually(gate.holding.is_set, what="the gate event held")
    expected = consumer.received + len(events)
    for event in events:
        await publish(publisher, event)
    await eventually(lambda: consumer.received == expected, what="every event received")
    gate.open()


def start_consumer(
    settings: Settings, clients: Clients, handlers: dict[str, EventHandler], **options: Any
) -> ReceivingConsumer:
    # One batch at a time (unless told): the next batch is all that waits behind the gate.
    options.setdefault("batches_in_flight", 1)
    consumer = make_consumer(
        settings, clients, handlers, consumer_class=ReceivingConsumer, **options
    )
    assert isinstance(consumer, ReceivingConsumer)
    return consumer


async def test_a_batch_of_fifty_events_is_one_transaction_with_one_effect_each(
    settings, clients, publisher
):
    effects, gate = Effects(clients.db), Gate()
    consumer = start_consumer(settings, clients, {HAPPENED: gate.before(effects)})
    await consumer.start()
    events = [thing(n) for n in range(50)]

    await in_one_batch(publisher, consumer, gate, events, thing(-1))
    await eventually(lambda: all(consumer.handled[e.id] for e in events), what="all handled")

    assert consumer.batches == [50]
    assert all(consumer.applied[e.id] == 1 for e in events)
    assert await effects.counts() == {n: 1 for n in range(-1, 50)}
    assert set((await effects.rows_per_event()).values()) == {1}
    assert await clients.db[PROCESSED].count_documents({}) == 51


async def test_repeats_inside_a_batch_and_across_batches_have_no_effect(
    settings, clients, publisher
):
    effects, gate = Effects(clients.db), Gate()
    consumer = start_consumer(settings, clients, {HAPPENED: gate.before(effects)})
    await consumer.start()
    a, b, c, d, first_gate, second_gate = (thing(n) for n in range(6))

    await in_one_batch(publisher, consumer, gate, [a, b, a, c, b, a], first_gate)
    await in_one_batch(publisher, consumer, gate, [c, d, b, d], second_gate)
    await eventually(lambda: sum(consumer.handled.values()) == 12, what="all 12 handled")

    assert consumer.batches == [6, 4]
    assert consumer.handled == {
        a.id: 3, b.id: 3, c.id: 2, d.id: 2, first_gate.id: 1, second_gate.id: 1
    }  # fmt: skip
    assert set(consumer.applied.values()) == {1}
    assert await effects.counts() == {n: 1 for n in range(6)}
    assert set((await effects.rows_per_event()).values()) == {1}


async def test_a_poison_event_is_dead_lettered_alone_and_the_rest_of_its_batch_applied(
    settings, clients, publisher
):
    effects, gate = Effects(clients.db), Gate()

    async def poisoned(event: Event, session: AsyncClientSession) -> None:
        await effects(event, session)  # written, then rolled back with the batch
        if event.data.get("poison"):
            raise ValueError("the handler cannot read this event")

    consumer = start_consumer(settings, clients, {HAPPENED: gate.before(poisoned)})
    await consumer.start()
    good = [thing(n) for n in range(6)]
    poison = thing(99, poison=True)

    await in_one_batch(publisher, consumer, gate, [*good[:3], poison, *good[3:]], thing(-1))
    [dead] = await wait_for_dead_letters(settings, clients, 1)

    assert json.loads(dead.body)["id"] == poison.id
    assert dead.headers["x-death"][0]["reason"] == "delivery_limit"
    assert consumer.batches[0] == 7  # tried together first
    assert all(consumer.applied[e.id] == 1 for e in good)
    assert consumer.applied[poison.id] == 0
    assert await effects.counts() == {n: 1 for n in range(-1, 6)}
    assert await clients.db[PROCESSED].find_one({"_id": poison.id}) is None
    assert await dead_letters(settings, clients) == []


async def test_a_poison_event_of_a_batch_message_is_handed_on_and_dead_lettered_alone(
    settings, clients, publisher
):
    """A message carrying a run of events (as the outbox writes a bulk batch's): its good
    events are applied once, its bad one goes to the dead-letter queue by itself, and the
    message is settled, not redelivered with its applied events."""
    effects = Effects(clients.db)

    async def poisoned(event: Event, session: AsyncClientSession) -> None:
        await effects(event, session)
        if event.data.get("poison"):
            raise ValueError("the handler cannot read this event")

    consumer = start_consumer(settings, clients, {HAPPENED: poisoned})
    await consumer.start()
    good = [thing(n) for n in range(6)]
    poison = thing(99, poison=True)
    run = [*good[:3], poison, *good[3:]]

    await publisher.publish("batch:1", HAPPENED, encode_batch(run), content_type=BATCH_CONTENT_TYPE)
    [dead] = await wait_for_dead_letters(settings, clients, 1)

    assert dead.message_id == poison.id
    assert json.loads(dead.body)["id"] == poison.id
    assert dead.headers["x-death"][0]["reason"] == "delivery_limit"
    assert consumer.batches[0] == 7  # tried together first
    assert all(consumer.applied[e.id] == 1 for e in good)
    assert all(consumer.attempts[e.id] == 2 for e in good), "the message was not redelivered"
    assert await effects.counts() == {n: 1 for n in range(6)}
    assert await clients.db[PROCESSED].find_one({"_id": poison.id}) is None
    assert await dead_letters(settings, clients) == []


def events_in_hand() -> float:
    return REGISTRY.get_sample_value("vm_events_in_hand") or 0.0


async def test_the_events_of_a_batch_message_are_in_hand_until_settled(
    settings, clients, publisher
):
    """A message of a run of events leaves its queue at once; `vm_events_in_hand` shows its
    events until each is applied."""
    effects, gate = Effects(clients.db), Gate()
    consumer = start_consumer(settings, clients, {HAPPENED: gate.before(effects)})
    await consumer.start()
    before = events_in_hand()
    gate.close()
    await publish(publisher, thing(-1))
    await eventually(gate.holding.is_set, what="the gate event held")
    run = [thing(n) for n in range(40)]

    await publisher.publish("batch:1", HAPPENED, encode_batch(run), content_type=BATCH_CONTENT_TYPE)
    await eventually(lambda: consumer.received == 2, what="the batch message received")
    assert events_in_hand() == before + 41  # the held event and the run behind it
    gate.open()
    await eventually(lambda: events_in_hand() == before, what="every event settled")

    assert await effects.counts() == {n: 1 for n in range(-1, 40)}


async def test_a_batch_handler_takes_each_run_of_its_events_in_delivery_order(
    settings, clients, publisher
):
    effects, gate = Effects(clients.db), Gate()
    runs: list[list[int]] = []
    order: list[int] = []

    async def record_all(events: Sequence[Event], session: AsyncClientSession) -> None:
        await gate.passing()
        runs.append([e.data["n"] for e in events])
        order.extend(e.data["n"] for e in events)
        for event in events:
            await effects(event, session)

    async def noted(event: Event, session: AsyncClientSession) -> None:
        order.append(event.data["n"])
        await effects(event, session)

    consumer = start_consumer(settings, clients, {HAPPENED: BatchHandler(record_all), NOTED: noted})
    await consumer.start()
    events = [thing(1), thing(2), thing(3, NOTED), thing(4), thing(5), thing(6)]

    await in_one_batch(publisher, consumer, gate, [*events, events[1]], thing(0))
    await eventually(lambda: sum(consumer.handled.values()) == 8, what="all handled")

    assert runs == [[0], [1, 2], [4, 5, 6]]  # the gate alone; the repeat of 2 left out
    assert order == [0, 1, 2, 3, 4, 5, 6]
    assert await effects.counts() == {n: 1 for n in range(7)}


async def twice_through_two_replicas(
    settings: Settings, clients: Clients, publisher: EventPublisher, handler: EventHandler
) -> tuple[list[ReceivingConsumer], list[Event]]:
    """150 events, each published twice in a row, to two replicas of one consumer: the
    broker hands the copies out by turns, so the replicas' batches overlap and race for
    the same markers (or entries). Returns once all 300 are handled."""
    replicas = [
        start_consumer(settings, clients, {HAPPENED: handler}, batches_in_flight=2)
        for _ in range(2)
    ]
    for replica in replicas:
        await replica.start()
    events = [thing(n) for n in range(150)]
    await asyncio.gather(*(publish(publisher, e) for e in events for _ in range(2)))
    await eventually(
        lambda: sum(sum(r.handled.values()) for r in replicas) == 300, what="all 300 handled"
    )
    return replicas, events


async def test_two_consumers_on_one_queue_apply_each_event_once(settings, clients, publisher):
    effects = Effects(clients.db)
    replicas, events = await twice_through_two_replicas(settings, clients, publisher, effects)

    assert all(sum(r.applied[e.id] for r in replicas) == 1 for e in events)
    assert all(r.batches for r in replicas), "both replicas applied batches"
    assert await effects.counts() == {n: 1 for n in range(150)}
    assert set((await effects.rows_per_event()).values()) == {1}
    assert await clients.db[PROCESSED].count_documents({}) == 150


async def test_a_handler_applied_alone_runs_once_though_its_neighbours_fail(
    settings, clients, publisher
):
    effects, gate, sent = Effects(clients.db), Gate(), []

    async def poisoned(event: Event, session: AsyncClientSession) -> None:
        await effects(event, session)
        if event.data.get("poison"):
            raise ValueError("the handler cannot read this event")

    async def notify(event: Event, session: AsyncClientSession) -> None:
        sent.append(event.id)  # as an SMS would leave: not rolled back with anything

    consumer = start_consumer(
        settings,
        clients,
        {HAPPENED: gate.before(poisoned), NOTED: AppliedAlone(notify)},
    )
    await consumer.start()
    notes = [thing(n, NOTED) for n in range(3)]
    good, poison = thing(1), thing(99, poison=True)

    await in_one_batch(publisher, consumer, gate, [notes[0], good, poison, *notes[1:]], thing(-1))
    await wait_for_dead_letters(settings, clients, 1)

    assert sorted(sent) == sorted(e.id for e in notes)  # each once, never with the batch
    assert consumer.applied[good.id] == 1


class KeyedEntries:
    """A handler keyed by the event: one entry under each event's id, `$setOnInsert`, as
    the audit log's. `calls` counts how often each event reached it."""

    def __init__(self, clients: Clients) -> None:
        self.entries = clients.db["keyed_entries"]
        self.calls: Counter[str] = Counter()

    async def __call__(self, events: Sequence[Event], session: AsyncClientSession) -> None:
        await self.entries.bulk_write(
            [
                UpdateOne({"_id": e.id}, {"$setOnInsert": {"n": e.data["n"]}}, upsert=True)
                for e in events
            ],
            session=session,
        )
        self.calls.update(e.id for e in events)


async def test_a_handler_keyed_by_the_event_has_one_entry_per_event_and_no_markers(
    settings, clients, publisher
):
    keyed, effects, gate = KeyedEntries(clients), Effects(clients.db), Gate()
    consumer = start_consumer(
        settings,
        clients,
        {HAPPENED: BatchHandler(keyed, keyed_by_event=True), NOTED: gate.before(effects)},
    )
    await consumer.start()
    a, b, c = (thing(n) for n in range(3))
    noted = [thing(n, NOTED) for n in range(10, 13)]

    # Repeats inside a batch, beside events that do take markers, then across batches.
    await in_one_batch(publisher, consumer, gate, [a, noted[1], b, a, noted[1]], noted[0])
    await in_one_batch(publisher, consumer, gate, [b, c, a], noted[2])
    await eventually(lambda: sum(consumer.handled.values()) == 10, what="all 10 handled")

    entries = {doc["_id"]: doc["n"] async for doc in keyed.entries.find({})}
    assert entries == {a.id: 0, b.id: 1, c.id: 2}
    assert keyed.calls[a.id] >= 2  # a repeat reaches the handler again and changes nothing
    markers = {doc["_id"] async for doc in clients.db[PROCESSED].find({})}
    assert markers == {e.id for e in noted}
    assert await effects.counts() == {10: 1, 11: 1, 12: 1}


async def test_two_consumers_keyed_by_the_event_leave_one_entry_each(settings, clients, publisher):
    keyed = KeyedEntries(clients)
    handler = BatchHandler(keyed, keyed_by_event=True)
    await twice_through_two_replicas(settings, clients, publisher, handler)

    assert [doc["n"] async for doc in keyed.entries.find({}).sort("n", 1)] == list(range(150))
    assert await clients.db[PROCESSED].count_documents({}) == 0
