"""Events end to end: state change + outbox event in one transaction → relay → RabbitMQ →
consumer → effect, against the raw insert rate of the same database.

The producing side runs in the benchmark's process as a service runs it: concurrent
producers, each committing `Transactions.run(insert the item + Outbox.add(event))`, and
an `OutboxRelay` woken after every commit. The consuming side is another process
(`python -m bench.events consume …`), as another service would be: an `EventConsumer`
whose handler updates a document in its own database and stamps the time it applied the
event — a batch handler, as the services' consumers of bulk work are: a run of events is
one bulk write. The commit → effect delay of an event is that stamp minus the time its producer's
commit returned (the event also carries the time it was written, inside the transaction).

`python -m bench.events consume --mongo-url … --amqp-url … --database … --prefix …
--expect N` prints `ready` once its queue is bound and `applied N` once it has applied N
events, and stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession

from bench.direct import commands_per, opcounters
from bench.loadgen import percentile
from bench.procs import (
    DATABASE,
    OTHERS,
    ROOT,
    CpuMeter,
    database_cpu_seconds,
    database_pid,
    find_pid,
    wait_until_quiet,
)
from services.kit.broker import EventPublisher, connect_broker
from services.kit.consumer import BatchHandler, EventConsumer
from services.kit.events import Event, new_event
from services.kit.mongo import Transactions, connect_mongo
from services.kit.outbox import Outbox, OutboxRelay
from tests.support.servers import MongoServer, delete_broker_namespace, namespace

SERVICE = "bench"
EVENT_TYPE = "vm.bench.item.created.v1"
ITEMS = "items"
SEEN = "seen_items"
RAW = "raw_inserts"


async def drop_databases(mongo_url: str, prefix: str) -> None:
    """Drop every database whose name starts with `prefix` (a run's own namespace)."""
    client = connect_mongo(mongo_url, app_name="bench-cleanup")
    try:
        for name in await client.list_database_names():
            if name.startswith(prefix):
                await client.drop_database(name)
    finally:
        await client.close()


def _percentile(values: list[float], fraction: float) -> float:
    return percentile(sorted(values), fraction)


async def insert_rate(collection: Any, count: int, concurrency: int) -> float:
    """insert_one of a small document, `concurrency` tasks at a time: documents/s."""

    async def task(first: int) -> None:
        for n in range(first, count, concurrency):
            await collection.insert_one({"n": n, "status": "new"})

    started = time.perf_counter()
    await asyncio.gather(*(task(first) for first in range(concurrency)))
    return count / (time.perf_counter() - started)


# --- the consuming service ----------------------------------------------------------


class _CountingConsumer(EventConsumer):
    """Says `applied N` on stdout once N distinct events have been applied (committed),
    so the benchmark need not poll the database (a count there costs SecantusDB a scan)."""

    def __init__(self, *, expect: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._expect = expect
        self._applied: set[str] = set()

    async def apply(self, event: Event) -> bool:
        applied = await super().apply(event)
        if applied:
            self._count([event.id])
        return applied

    async def apply_batch(self, events: Sequence[Event], **kwargs: Any) -> list[bool]:
        effects = await super().apply_batch(events, **kwargs)
        self._count([e.id for e, effect in zip(events, effects, strict=True) if effect])
        return effects

    def _count(self, applied: list[str]) -> None:
        before = len(self._applied)
        self._applied.update(applied)
        if before < self._expect <= len(self._applied):
            print(f"applied {self._expect}", flush=True)


async def consume(mongo_url: str, amqp_url: str, database: str, prefix: str, expect: int) -> None:
    client = connect_mongo(mongo_url, app_name="bench-consumer")
    seen = client[database][SEEN]

    async def items_created(events: Sequence[Event], session: AsyncClientSession) -> None:
        # As the services' consumers that can (the audit log, the journal, billing's
        # copies): a run of events is one bulk write, its effect that of one by one.
        applied_at = time.time()
        await seen.bulk_write(
            [
                UpdateOne(
                    {"_id": event.data["item_id"]},
                    {
                        "$set": {"written_at": event.data["written_at"], "applied_at": applied_at},
                        "$inc": {"times": 1},
                    },
                    upsert=True,
                )
                for event in events
            ],
            session=session,
        )

    broker = await connect_broker(amqp_url, "bench-consumer")
    consumer = _CountingConsumer(
        expect=expect,
        service=SERVICE,
        connection=broker,
        db=client[database],
        transactions=Transactions(client),
        exchange_name=f"{prefix}vm.events",
        queue_prefix=prefix,
        handlers={EVENT_TYPE: BatchHandler(items_created)},
    )
    await consumer.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    print("ready", flush=True)
    await stopped.wait()
    await broker.close()
    await client.close()


@contextlib.asynccontextmanager
async def consumer_process(
    mongo_url: str, amqp_url: str, database: str, prefix: str, expect: int, log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """The consuming service in its own process, from `ready` (queue bound) to SIGTERM."""
    with log.open("ab") as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.events", "consume", "--mongo-url", mongo_url,
            "--amqp-url", amqp_url, "--database", database, "--prefix", prefix,
            "--expect", str(expect),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=errors,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        if line.strip() != b"ready":
            raise RuntimeError(f"the consumer did not start; see {log}")
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- the producing service and the run ----------------------------------------------


class _CountingRelay(OutboxRelay):
    """Records the size of every batch it publishes (how well commits are batched)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches: list[int] = []

    async def relay_once(self) -> int:
        published = await super().relay_once()
        if published:
            self.batches.append(published)
        return published


async def _pipeline(
    mongo_url: str,
    amqp_url: str,
    prefix: str,
    events: int,
    producers: int,
    meter: CpuMeter,
    log_dir: Path,
    wait_seconds: float,
) -> dict[str, Any]:
    amqp_prefix = f"{prefix}."
    consumer_db = f"{prefix}_bench_consumer"
    client = connect_mongo(mongo_url, app_name="bench-producer")
    db = client[f"{prefix}_bench_producer"]
    items = db[ITEMS]
    outbox = Outbox(db)
    await outbox.ensure_indexes()
    transactions = Transactions(client)
    broker = await connect_broker(amqp_url, "bench-producer")
    relay_task: asyncio.Task[None] | None = None
    relay: _CountingRelay | None = None
    committed: dict[str, float] = {}

    async def produce_one(item_id: str) -> None:
        await commit_item(transactions, items, outbox, item_id)
        committed[item_id] = time.time()

    async def producer(first: int) -> None:
        for n in range(first, events, producers):
            await produce_one(f"item-{n:07d}")

    try:
        async with consumer_process(
            mongo_url, amqp_url, consumer_db, amqp_prefix, events, log_dir / "consumer.log"
        ) as consumer:
            publisher = EventPublisher(broker, f"{amqp_prefix}vm.events")
            await publisher.start()
            relay = _CountingRelay(db, publisher)
            transactions.after_commit(relay.wake)
            relay_task = asyncio.create_task(relay.run())
            meter.add("consumer", consumer.pid)
            meter.start()
            started = time.time()
            await asyncio.gather(*(producer(first) for first in range(producers)))
            produced = time.time()
            assert consumer.stdout is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(consumer.stdout.readline(), timeout=wait_seconds)
            meter.stop()
        projection = {"applied_at": 1, "written_at": 1, "times": 1}
        documents = await client[consumer_db][SEEN].find({}, projection).to_list()
    finally:
        if relay_task is not None:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
        await broker.close()
        await client.close()
    last_applied = max((d["applied_at"] for d in documents), default=float("nan"))
    delays = [d["applied_at"] - committed[d["_id"]] for d in documents if d["_id"] in committed]
    from_write = [d["applied_at"] - d["written_at"] for d in documents]
    return {
        "events": events,
        "producers": producers,
        "applied": len(documents),
        "applied_twice": sum(1 for d in documents if d.get("times", 1) > 1),
        "relay_batches": len(relay.batches) if relay else 0,
        "relay_batch_mean": sum(relay.batches) / len(relay.batches)
        if relay and relay.batches
        else 0.0,
        "commits_per_s": events / (produced - started),
        "events_per_s": len(documents) / (last_applied - started) if documents else 0.0,
        "seconds": last_applied - started,
        "delay_ms": {
            "p50": _percentile(delays, 0.5) * 1000,
            "p99": _percentile(delays, 0.99) * 1000,
            "max": max(delays, default=float("nan")) * 1000,
        },
        "written_to_applied_ms": {
            "p50": _percentile(from_write, 0.5) * 1000,
            "p99": _percentile(from_write, 0.99) * 1000,
        },
    }


async def commit_item(transactions: Transactions, items: Any, outbox: Outbox, item_id: str) -> None:
    """What a producing service does: the item and its event, in one transaction."""

    async def work(session: AsyncClientSession) -> None:
        await items.insert_one({"_id": item_id, "status": "new"}, session=session)
        event = new_event(
            EVENT_TYPE,
            {"item_id": item_id, "written_at": time.time()},
            source="//vm/bench",
            subject=item_id,
        )
        await outbox.add(session, event)

    await transactions.run(work)


async def producer_transaction_rate(
    transactions: Transactions, db: Any, count: int, concurrency: int
) -> float:
    """The producer's transaction alone — the item and its outbox event, committed — with
    no relay and no consumer: the ceiling of the pipeline's rate. Transactions/s."""
    items, outbox = db[ITEMS], Outbox(db)
    await outbox.ensure_indexes()

    async def task(first: int) -> None:
        for n in range(first, count, concurrency):
            await commit_item(transactions, items, outbox, f"alone-{n:07d}")

    started = time.perf_counter()
    await asyncio.gather(*(task(first) for first in range(concurrency)))
    return count / (time.perf_counter() - started)


async def _raw_rates(
    mongo_url: str, database: str, events: int, producers: int, db_pid: int | None
) -> dict[str, float]:
    client = connect_mongo(mongo_url, app_name="bench-raw")

    try:
        raw = client[database][RAW]
        await raw.insert_one({"n": -1, "status": "warm-up"})
        sequential = await insert_rate(raw, max(events // 2, 200), 1)
        before = database_cpu_seconds(db_pid)
        concurrent = await insert_rate(raw, events, producers)
        per_insert = database_cpu_seconds(db_pid) - before
        before, counted = database_cpu_seconds(db_pid), await opcounters(mongo_url)
        transactions = await producer_transaction_rate(
            Transactions(client), client[f"{database}_tx"], events, producers
        )
        per_transaction = database_cpu_seconds(db_pid) - before
        commands = commands_per(counted, await opcounters(mongo_url), events)
    finally:
        await client.close()
    return {
        "sequential": sequential,
        "concurrent": concurrent,
        "db_cpu_ms_per_insert": 1000 * per_insert / events,
        "producer_transactions": transactions,
        "db_cpu_ms_per_producer_transaction": 1000 * per_transaction / events,
        "db_commands_per_producer_transaction": commands["all"],
    }


def bench_events(
    mongo: MongoServer,
    amqp_url: str,
    *,
    events: int,
    producers: int,
    log_dir: Path,
    wait_seconds: float = 120.0,
    quiet_wait: float = 30.0,
) -> dict[str, Any]:
    prefix = namespace()
    waited = wait_until_quiet(quiet_wait)
    db_pid = database_pid(mongo)
    raw = asyncio.run(_raw_rates(mongo.url, f"{prefix}_bench_raw", events, producers, db_pid))
    processes = {"benchmark (producers + relay)": os.getpid()}
    if db_pid is not None:
        processes[DATABASE] = db_pid
    if (broker_pid := find_pid("beam.smp")) is not None:
        processes["RabbitMQ"] = broker_pid
    meter = CpuMeter(processes)
    waited += wait_until_quiet(quiet_wait)
    counted = asyncio.run(opcounters(mongo.url))
    try:
        result = asyncio.run(
            _pipeline(mongo.url, amqp_url, prefix, events, producers, meter, log_dir,
                      wait_seconds)
        )  # fmt: skip
        # What the pipeline (a handful for its set-up included) asked of the database per
        # event applied: SecantusDB's time goes mostly to each command, whatever its size.
        result["db_commands_per_event"] = commands_per(
            counted, asyncio.run(opcounters(mongo.url)), max(result["applied"], 1)
        )
    finally:
        asyncio.run(_forget(mongo.url, amqp_url, prefix))
    result["cpu_percent"] = meter.percent
    result["cpu_ms_per_event"] = {
        name: 1000 * used / max(result["applied"], 1)
        for name, used in meter.seconds.items()
        if name != OTHERS
    }
    result["raw_inserts_per_s"] = raw
    result["waited_for_idle_machine_s"] = waited
    return result


async def _forget(mongo_url: str, amqp_url: str, prefix: str) -> None:
    await delete_broker_namespace(amqp_url, f"{prefix}.", (SERVICE,))
    await drop_databases(mongo_url, f"{prefix}_")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("role", choices=("consume",))
    parser.add_argument("--mongo-url", required=True)
    parser.add_argument("--amqp-url", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--expect", type=int, required=True, help="events to apply")
    options = parser.parse_args()
    asyncio.run(
        consume(options.mongo_url, options.amqp_url, options.database, options.prefix,
                options.expect)
    )  # fmt: skip


if __name__ == "__main__":
    main()
