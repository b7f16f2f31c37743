"""The outbox relay killed (SIGKILL) in the middle of publishing: another relay takes over
and every event reaches the consumer, each applied exactly once — the events the dead
relay had published but not yet marked as sent are published again and deduplicated."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from services.kit.events import new_event
from services.kit.outbox import OUTBOX, Outbox
from services.kit.settings import Settings
from tests.support.kit import (
    CountingConsumer,
    Effects,
    Tap,
    eventually,
    make_consumer,
)
from tests.support.servers import ROOT

pytestmark = pytest.mark.integration

HAPPENED = "vm.test.thing.happened.v1"
EVENTS = 2000
BATCH = 200
LEASE_SECONDS = 1.0


class RelayProcesses:
    """Starts `python -m tests.support.relay_process` processes; kills any left at the end."""

    def __init__(self, settings: Settings, database: str) -> None:
        self._database = database
        self._env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "VM_ENV": "test",
            "VM_MONGO_URL": settings.mongo_url,
            "VM_AMQP_URL": settings.amqp_url,
            "VM_AMQP_PREFIX": settings.amqp_prefix,
        }
        self.started: list[subprocess.Popen[str]] = []

    async def start(self) -> subprocess.Popen[str]:
        process = self._spawn()
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout=30)
        assert line.strip() == "relaying", f"the relay process did not start: {line!r}"
        return process

    def _spawn(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.relay_process",
                self._database,
                "--batch-size",
                str(BATCH),
                "--lease-seconds",
                str(LEASE_SECONDS),
            ],
            cwd=ROOT,
            env=self._env,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
            process.stdout.close()


@pytest.fixture
def relays(settings: Settings) -> Iterator[RelayProcesses]:
    processes = RelayProcesses(settings, settings.database_name("producer"))
    yield processes
    processes.kill_all()


async def pending_ids(producer_db) -> set[str]:
    cursor = producer_db[OUTBOX].find({"sent_at": None}, {"event_id": 1})
    return {doc["event_id"] async for doc in cursor}


async def published_not_marked(tap: Tap, producer_db) -> set[str]:
    """Events the tap saw that are still pending in the outbox, once that stops changing:
    a write the relay had sent before it was stopped may still be on its way."""
    previous = None
    for _ in range(20):
        await asyncio.sleep(0.25)
        current = set(tap.seen) & await pending_ids(producer_db)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the outbox did not settle")


async def kill_between_publish_and_mark(
    relay: subprocess.Popen[str], tap: Tap, producer_db
) -> set[str]:
    """SIGKILL the relay mid-stream, after it published a batch and before it marked it
    sent. Once a quarter of the stream is out, as soon as the tap sees a message arrive the
    relay is frozen (SIGSTOP) and the outbox inspected: events seen but still pending mean
    it is inside that window; otherwise it is let go (SIGCONT) until the next message.
    Returns the events it published but did not mark (the ones bound to go out again)."""
    frozen = asyncio.Event()

    def freeze() -> None:
        if not frozen.is_set() and tap.total >= EVENTS // 4:
            relay.send_signal(signal.SIGSTOP)
            frozen.set()

    tap.on_delivery = freeze
    try:
        while tap.total < EVENTS * 3 // 4:
            await asyncio.wait_for(frozen.wait(), timeout=90)  # a loaded machine is slow
            if await published_not_marked(tap, producer_db):
                break
            frozen.clear()
            relay.send_signal(signal.SIGCONT)
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=10)
        return await published_not_marked(tap, producer_db)
    finally:
        tap.on_delivery = None


async def test_a_relay_killed_mid_stream_loses_nothing_and_nothing_is_applied_twice(
    settings, clients, relays
):
    producer_db = clients.mongo.get_database(settings.database_name("producer"))
    outbox = Outbox(producer_db)
    await outbox.ensure_indexes()
    effects = Effects(clients.db)
    # The handler waits until the first relay is dead: this process then has little else
    # to do and sees the relay's messages the moment they arrive.
    relay_killed = asyncio.Event()

    async def apply_after_the_kill(event, session):
        await relay_killed.wait()
        await effects(event, session)

    consumer = make_consumer(
        settings, clients, {HAPPENED: apply_after_the_kill}, consumer_class=CountingConsumer
    )
    await consumer.start()
    tap = Tap()
    await tap.start(clients.broker, settings.events_exchange)

    # A few thousand changes, each committed together with its event.
    ids: list[str] = []
    for start in range(0, EVENTS, 100):
        events = [
            new_event(HAPPENED, {"n": n}, source="/producer") for n in range(start, start + 100)
        ]

        async def write(session, events=events):
            await producer_db.orders.insert_many(
                [{"_id": e.data["n"], "event_id": e.id} for e in events], session=session
            )
            for event in events:  # one message each (a run added at once would be one)
                await outbox.add(session, event)

        await clients.transactions.run(write)
        ids.extend(e.id for e in events)

    first = await relays.start()
    published_twice = await kill_between_publish_and_mark(first, tap, producer_db)
    killed_at = time.monotonic()
    seen_before_takeover = set(tap.seen)
    pending_at_kill = await pending_ids(producer_db)
    assert 0 < len(seen_before_takeover) < EVENTS, "killed in the middle of the stream"
    assert 0 < len(pending_at_kill) < EVENTS
    assert seen_before_takeover | pending_at_kill == set(ids), "an event was lost"
    assert published_twice == seen_before_takeover & pending_at_kill
    assert published_twice, "killed after publishing a batch and before marking it sent"
    relay_killed.set()

    await relays.start()
    await eventually(
        lambda: len(consumer.applied) == EVENTS, timeout=40, what="every event applied"
    )
    took_over_in = time.monotonic() - killed_at

    async def quiet() -> bool:
        pending = await producer_db[OUTBOX].count_documents({"sent_at": None})
        return pending == 0 and sum(consumer.handled.values()) == tap.total

    await eventually(quiet, timeout=20, what="every delivery handled")

    deliveries = tap.total
    redeliveries = deliveries - EVENTS
    print(
        f"\nrelay killed after {len(seen_before_takeover)} of {EVENTS} events; "
        f"{len(published_twice)} were published again; {deliveries} deliveries, "
        f"{redeliveries} deduplicated; all applied {took_over_in:.1f}s after the kill"
    )
    # Each effect exactly once, whatever was delivered twice.
    assert await effects.rows_per_event() == dict.fromkeys(ids, 1)
    assert await effects.counts() == dict.fromkeys(range(EVENTS), 1)
    assert consumer.applied == dict.fromkeys(ids, 1)
    # Exactly the events published but not marked sent were published again ...
    assert set(tap.seen) == set(ids)
    assert {i for i, count in tap.seen.items() if count > 1} == published_twice
    assert max(tap.seen.values()) <= 2
    # ... and the consumer was handed each of those twice and applied it once.
    assert sum(consumer.handled.values()) == deliveries
    assert {i for i, count in consumer.handled.items() if count == 2} == published_twice
    await tap.close()
