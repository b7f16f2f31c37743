"""services/kit/outbox.py: state change + event in one transaction, the relay publishing
them with confirms, the lease between relays, and the consumer applying each exactly once
— all against the real MongoDB-protocol server and RabbitMQ."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from services.kit.broker import EventPublisher
from services.kit.events import BATCH_CONTENT_TYPE, new_event
from services.kit.outbox import LEASES, OUTBOX, Outbox, OutboxRelay, events_of
from services.kit.settings import Settings
from tests.support.kit import (
    Clients,
    CountingConsumer,
    Effects,
    Tap,
    eventually,
    make_consumer,
)

pytestmark = pytest.mark.integration

HAPPENED = "vm.test.thing.happened.v1"
NOTED = "vm.test.thing.noted.v1"


@pytest.fixture
def producer_db(clients: Clients, settings: Settings):
    """The producing service's own database (the consumer has another)."""
    return clients.mongo.get_database(settings.database_name("producer"))


@pytest.fixture
async def outbox(producer_db) -> Outbox:
    outbox = Outbox(producer_db)
    await outbox.ensure_indexes()
    return outbox


@pytest.fixture
async def tap(settings: Settings, clients: Clients) -> AsyncIterator[Tap]:
    tap = Tap()
    await tap.start(clients.broker, settings.events_exchange)
    yield tap
    await tap.close()


class RecordingPublisher(EventPublisher):
    """The real publisher; it also notes which relay published what, and when."""

    def __init__(self, clients: Clients, settings: Settings, label: str, log: list) -> None:
        super().__init__(clients.broker, settings.events_exchange)
        self._label = label
        self._log = log

    async def publish(self, message_id: str, event_type: str, body: bytes, **options) -> None:
        self._log.append((time.monotonic(), self._label, message_id))
        await super().publish(message_id, event_type, body, **options)


async def started_publisher(settings, clients) -> EventPublisher:
    publisher = EventPublisher(clients.broker, settings.events_exchange)
    await publisher.start()
    return publisher


async def write_changes(clients: Clients, producer_db, outbox: Outbox, numbers) -> list[str]:
    """One transaction per change: the order document and its event, together."""
    ids = []

    async def change(n: int) -> None:
        event = new_event(HAPPENED, {"n": n}, source="/producer", company_id="cmp_1")

        async def work(session):
            await producer_db.orders.insert_one({"_id": n, "event_id": event.id}, session=session)
            await outbox.add(session, event)

        await clients.transactions.run(work)
        ids.append(event.id)

    numbers = list(numbers)
    for start in range(0, len(numbers), 20):
        await asyncio.gather(*(change(n) for n in numbers[start : start + 20]))
    return ids


@contextlib.asynccontextmanager
async def running(*relays: OutboxRelay) -> AsyncIterator[list[asyncio.Task]]:
    tasks = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def pending(producer_db) -> int:
    return await producer_db[OUTBOX].count_documents({"sent_at": None})


def nothing_pending(producer_db):
    async def check() -> bool:
        return await pending(producer_db) == 0

    return check


async def test_an_event_is_written_if_and_only_if_its_change_commits(clients, producer_db, outbox):
    kept = new_event(HAPPENED, {"n": 1}, source="/producer")
    dropped = new_event(HAPPENED, {"n": 2}, source="/producer")

    async def commits(session):
        await producer_db.orders.insert_one({"_id": 1}, session=session)
        await outbox.add(session, kept)

    async def fails(session):
        await producer_db.orders.insert_one({"_id": 2}, session=session)
        await outbox.add(session, dropped)
        raise ValueError("the rule said no")

    await clients.transactions.run(commits)
    with pytest.raises(ValueError, match="rule"):
        await clients.transactions.run(fails)
    await clients.transactions.run(lambda session: outbox.add(session))  # no events: no-op

    docs = await producer_db[OUTBOX].find({}).to_list()
    assert [(d["event_id"], d["type"], d["sent_at"]) for d in docs] == [(kept.id, HAPPENED, None)]
    assert await producer_db.orders.distinct("_id") == [1]


async def test_committed_changes_reach_the_consumer_each_applied_exactly_once(
    settings, clients, producer_db, outbox, tap
):
    effects = Effects(clients.db)
    consumer = make_consumer(
        settings, clients, {HAPPENED: effects}, consumer_class=CountingConsumer
    )
    await consumer.start()
    relay = OutboxRelay(
        producer_db, await started_publisher(settings, clients), idle_poll_seconds=0.05
    )
    clients.transactions.after_commit(relay.wake)
    n = 300

    async with running(relay):
        ids = await write_changes(clients, producer_db, outbox, range(n))
        await eventually(lambda: len(consumer.applied) == n, timeout=30, what="all applied")
        # The consumer may apply a batch before its relay has marked it sent.
        await eventually(nothing_pending(producer_db), what="every event marked sent")

    assert await effects.count() == n
    assert await effects.rows_per_event() == dict.fromkeys(ids, 1)
    assert await pending(producer_db) == 0
    assert set(tap.seen) == set(ids)
    assert sorted([d["n"] async for d in effects.rows.find({})]) == list(range(n))


async def test_a_relay_batch_is_published_in_the_order_of_writing(
    settings, clients, producer_db, outbox, tap
):
    relay = OutboxRelay(producer_db, await started_publisher(settings, clients), batch_size=500)
    ids = []
    for n in range(60):
        event = new_event(HAPPENED, {"n": n}, source="/producer")
        await clients.transactions.run(lambda s, e=event: outbox.add(s, e))
        ids.append(event.id)

    assert await relay.relay_once() == 60
    await eventually(lambda: tap.total == 60, what="all 60 seen")

    assert tap.order == ids  # the tap's queue is FIFO
    assert await relay.relay_once() == 0


async def test_a_batch_that_cannot_be_published_stays_pending(
    settings, clients, producer_db, outbox
):
    await write_changes(clients, producer_db, outbox, range(5))
    publisher = EventPublisher(clients.broker, settings.events_exchange)  # not started
    relay = OutboxRelay(producer_db, publisher)

    with pytest.raises(RuntimeError):
        await relay.relay_once()
    assert await pending(producer_db) == 5

    await publisher.start()
    assert await relay.relay_once() == 5
    assert await pending(producer_db) == 0


async def test_the_relay_keeps_going_when_the_broker_refuses_messages(
    settings, clients, producer_db, outbox, tap
):
    """A broker nack (here: a full queue that rejects publishes) must pause the relay,
    not end it: once the broker accepts messages again, the pending events go out."""
    channel = await clients.broker.channel()
    exchange = await channel.get_exchange(settings.events_exchange)
    full = await channel.declare_queue(
        exclusive=True, arguments={"x-max-length": 1, "x-overflow": "reject-publish"}
    )
    await full.bind(exchange, routing_key="#")
    relay = OutboxRelay(
        producer_db, await started_publisher(settings, clients), idle_poll_seconds=0.05
    )
    ids = await write_changes(clients, producer_db, outbox, range(10))

    async with running(relay) as [task]:
        await eventually(lambda: tap.total >= 2, what="the broker saw the first publishes")
        await asyncio.sleep(0.3)
        assert not task.done(), f"the relay stopped: {task.exception()!r}"
        assert await pending(producer_db) > 0

        await full.delete(if_unused=False, if_empty=False)
        await eventually(nothing_pending(producer_db), what="pending events published")
        await eventually(lambda: set(tap.seen) == set(ids), what="the tap saw every event")
    await channel.close()


def turns(log: list[tuple[float, str, str]]) -> list[tuple[str, int, float, float]]:
    """Who published, in turns: (relay, how many, from, to) in seconds since the first."""
    result: list[list] = []
    start = min((t for t, _, _ in log), default=0.0)
    for t, label, _ in sorted(log):
        if not result or result[-1][0] != label:
            result.append([label, 0, round(t - start, 3), 0.0])
        result[-1][1] += 1
        result[-1][3] = round(t - start, 3)
    return [tuple(turn) for turn in result]


async def test_two_relays_on_one_outbox_take_turns_through_the_lease(
    settings, clients, producer_db, outbox, tap
):
    effects = Effects(clients.db)
    consumer = make_consumer(
        settings, clients, {HAPPENED: effects}, consumer_class=CountingConsumer
    )
    await consumer.start()
    log: list[tuple[float, str, str]] = []
    relays = {}
    for label in ("a", "b"):
        publisher = RecordingPublisher(clients, settings, label, log)
        await publisher.start()
        relays[label] = OutboxRelay(
            producer_db, publisher, batch_size=50, idle_poll_seconds=0.02, lease_seconds=3
        )
        clients.transactions.after_commit(relays[label].wake)
    tasks = {label: asyncio.create_task(relay.run()) for label, relay in relays.items()}
    try:
        first = await write_changes(clients, producer_db, outbox, range(300))
        await eventually(lambda: len(consumer.applied) == 300, timeout=30, what="first 300")
        await eventually(nothing_pending(producer_db), what="the first 300 marked sent")
        holders = {label for _, label, _ in log}
        assert len(holders) == 1, f"while the lease is held only its holder publishes: {turns(log)}"
        [holder] = holders
        other = "b" if holder == "a" else "a"
        lease = await producer_db[LEASES].find_one({"_id": OUTBOX})
        assert lease["holder"] == relays[holder]._holder

        # The holder dies; the other takes over once the lease has expired.
        tasks[holder].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[holder]
        died_at = time.monotonic()
        second = await write_changes(clients, producer_db, outbox, range(300, 400))
        await eventually(lambda: len(consumer.applied) == 400, timeout=30, what="all 400")
    finally:
        for task in tasks.values():
            task.cancel()
        for task in tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    assert len(turns(log)) == 2, f"one hand-over, never both publishing: {turns(log)}"
    assert {event_id for _, label, event_id in log if label == other} == set(second)
    assert min(t for t, label, _ in log if label == other) > died_at
    assert tap.seen == dict.fromkeys(first + second, 1), "every event published exactly once"
    assert await effects.rows_per_event() == dict.fromkeys(first + second, 1)
    assert await effects.count() == 400


async def test_sent_events_are_deleted_after_the_retention_only(
    settings, clients, producer_db, outbox
):
    relay = OutboxRelay(
        producer_db, await started_publisher(settings, clients), retention=timedelta(0)
    )
    await write_changes(clients, producer_db, outbox, range(3))
    assert await relay.relay_once() == 3
    await write_changes(clients, producer_db, outbox, range(3, 5))

    await relay._delete_old_sent()

    assert await producer_db[OUTBOX].count_documents({}) == 2
    assert await pending(producer_db) == 2


async def test_a_run_of_one_type_is_one_document_and_one_message_each_event_applied_once(
    settings, clients, producer_db, outbox, tap
):
    """A bulk batch's per-number events: one outbox document, one published message (a
    CloudEvents batch), and on the consumer's side each event applied once, even when the
    message is delivered again."""
    effects = Effects(clients.db)
    consumer = make_consumer(
        settings, clients, {HAPPENED: effects, NOTED: effects}, consumer_class=CountingConsumer
    )
    await consumer.start()
    publisher = await started_publisher(settings, clients)
    relay = OutboxRelay(producer_db, publisher, idle_poll_seconds=0.05)
    happened = [new_event(HAPPENED, {"n": n}, source="/producer") for n in range(120)]
    noted = new_event(NOTED, {"n": 1000}, source="/producer")

    await clients.transactions.run(lambda session: outbox.add(session, *happened, noted))
    documents = await producer_db[OUTBOX].find({}).sort("_id", 1).to_list()
    assert [d["type"] for d in documents] == [HAPPENED, NOTED]
    assert documents[0]["event_ids"] == [e.id for e in happened]
    assert [e.id for e in events_of(documents[0])] == [e.id for e in happened]
    assert [e.data for e in events_of(documents[1])] == [{"n": 1000}]

    ids = [e.id for e in (*happened, noted)]
    async with running(relay):
        await eventually(lambda: len(consumer.applied) == 121, timeout=30, what="all applied")
        await eventually(nothing_pending(producer_db), what="both marked sent")
    await publisher.publish(  # the batch delivered again (a relay crashed before its mark)
        f"batch:{documents[0]['_id']}",
        HAPPENED,
        documents[0]["body"],
        content_type=BATCH_CONTENT_TYPE,
    )
    await eventually(lambda: tap.total == 3, what="three messages seen")
    await eventually(
        lambda: sum(consumer.handled.values()) == 241, what="the repeat handled (no effect)"
    )

    assert sorted(tap.seen) == sorted([f"batch:{documents[0]['_id']}", noted.id])
    assert await effects.rows_per_event() == dict.fromkeys(ids, 1)
    assert await effects.counts() == {n: 1 for n in [*range(120), 1000]}
