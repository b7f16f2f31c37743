"""The same reads a service issues, sent with PyMongo straight to its database: the
baseline a benchmark of the whole system compares with (`measure_direct`).

A query is a coroutine function of the service's database, so it may issue several reads
(one after another or together) exactly as the service's store does. `connections` tasks
issue it again and again (closed loop), as the HTTP load generator does with requests.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.loadgen import percentile
from bench.procs import DATABASE, CpuMeter, wait_until_quiet
from services.kit.mongo import connect_mongo

if TYPE_CHECKING:  # bench.web measures /me with this module's baseline
    from bench.web import LoadOptions
    from tests.support.servers import MongoServer

THIS_PROCESS = "PyMongo (this process)"
Query = Callable[[AsyncDatabase], Awaitable[Any]]


async def _direct_load(
    url: str, database: str, query: Query, options: LoadOptions, meter: CpuMeter
) -> dict[str, Any]:
    """`options.connections` tasks, each issuing the query again and again (closed loop);
    only queries that complete inside the window count, as in bench.loadgen."""
    client: AsyncMongoClient = AsyncMongoClient(
        url, w="majority", tz_aware=True, uuidRepresentation="standard"
    )
    db = client[database]
    latencies: list[float] = []
    state = {"running": True, "recording": False, "empty": 0}

    async def worker() -> None:
        while state["running"]:
            started = time.perf_counter()
            found = await query(db)
            if state["recording"]:
                latencies.append(time.perf_counter() - started)
                state["empty"] += not found

    try:
        workers = [asyncio.create_task(worker()) for _ in range(options.connections)]
        await asyncio.sleep(options.warmup)
        meter.start()
        state["recording"] = True
        opened = time.perf_counter()
        await asyncio.sleep(options.duration)
        state["recording"] = False
        window = time.perf_counter() - opened
        meter.stop()
        state["running"] = False
        await asyncio.gather(*workers)
    finally:
        await client.close()
    latencies.sort()
    return {
        "client": "PyMongo AsyncMongoClient",
        "connections": options.connections,
        "window_s": round(window, 3),
        "requests": len(latencies),
        "requests_per_s": len(latencies) / window,
        "latency_ms": {
            "p50": percentile(latencies, 0.50) * 1000,
            "p90": percentile(latencies, 0.90) * 1000,
            "p99": percentile(latencies, 0.99) * 1000,
            "max": (latencies[-1] if latencies else float("nan")) * 1000,
        },
        "empty_answers": state["empty"],
        "errors": 0,
    }


def measure_direct(
    mongo: MongoServer, database: str, query: Query, options: LoadOptions
) -> dict[str, Any]:
    processes: dict[str, int | list[int]] = {THIS_PROCESS: os.getpid()}
    if mongo.process is not None:
        processes[DATABASE] = mongo.process.pid
    waited = wait_until_quiet(options.quiet_wait)
    meter = CpuMeter(processes)
    result = asyncio.run(_direct_load(mongo.url, database, query, options, meter))
    result["cpu_percent"] = meter.percent
    result["waited_for_idle_machine_s"] = waited
    return result


async def opcounters(url: str) -> dict[str, int]:
    """The database's operation counters (serverStatus). SecantusDB counts commands — an
    insert_many or a bulk_write is one — so these are round trips, not documents."""
    client = connect_mongo(url, app_name="bench-opcounters")
    try:
        status = await client.admin.command("serverStatus")
    finally:
        await client.close()
    return {name: int(count) for name, count in status.get("opcounters", {}).items()}


# The kinds of operation `top` splits a collection's time into (their sum is its total).
TOP_KINDS = ("insert", "update", "remove", "queries", "getmore", "commands")
# A collection's time by kind: kind → (microseconds, operations).
NamespaceTimes = dict[str, dict[str, tuple[int, int]]]


async def namespace_times(url: str) -> NamespaceTimes:
    """The database's own profile by collection (the `top` command, as mongotop reads it):
    for each collection, the time its operations took and how many there were, by kind,
    since the server started. Commands of no collection (a transaction's commit, `hello`)
    are not in it."""
    client = connect_mongo(url, app_name="bench-top")
    try:
        totals = (await client.admin.command("top"))["totals"]
    finally:
        await client.close()
    return {
        namespace: {kind: (sections[kind]["time"], sections[kind]["count"]) for kind in TOP_KINDS}
        for namespace, sections in totals.items()
        if namespace != "note"
    }


def time_per(before: NamespaceTimes, after: NamespaceTimes, units: int) -> list[dict[str, Any]]:
    """Each collection's and kind's database time per unit of work (ms) between two readings
    of `namespace_times`, with its operations per unit and its share of all of that time;
    the most first."""
    rows: list[dict[str, Any]] = []
    for namespace, kinds in after.items():
        for kind, (micros, count) in kinds.items():
            was_micros, was_count = before.get(namespace, {}).get(kind, (0, 0))
            if count > was_count:
                rows.append(
                    {
                        "collection": namespace,
                        "kind": kind,
                        "ms_per_unit": (micros - was_micros) / 1000 / units,
                        "operations_per_unit": (count - was_count) / units,
                    }
                )
    spent = sum(row["ms_per_unit"] for row in rows) or 1.0
    for row in rows:
        row["share"] = row["ms_per_unit"] / spent
    return sorted(rows, key=lambda row: row["ms_per_unit"], reverse=True)


def commands_per(before: dict[str, int], after: dict[str, int], units: int) -> dict[str, float]:
    """Database commands per unit of work (a number, an event) between two readings of
    `opcounters`, by kind and in all."""
    counts = {name: (after.get(name, 0) - count) / units for name, count in before.items()}
    counts["all"] = sum(counts.values())
    return counts
