"""A read its caller has given up on: what the database still spends on it.

With 10,000 numbers in the company (the numbers benchmark's larger size), the company's
whole list page — `find({company_id}).sort(_id).limit(51)`, which the embedded database
answers by reading every match before the limit — asked three ways, one at a time:

- `catalog, deadline`: catalog's gRPC `ListNumbers` with a deadline of `GIVE_UP_S`; the
  call's database work is bound by its deadline (each command carries the time left as
  `maxTimeMS`, services/kit/grpc_server.py);
- `direct, given up`: the same query with PyMongo from this process, its task cancelled
  after `GIVE_UP_S` — a caller going away without `maxTimeMS` (what every call did before
  the deadline bound it): the driver drops its connection, the database reads on;
- `direct, to the end`: the same query read to its answer.

For each, the database's CPU seconds from the read's start over a window long enough for
the whole read to finish (twice its duration and half a second), less the same window with
no read (the relays' polls), median of `ROUNDS`. Each `÷ to the end` says how much of an
abandoned read the database still did.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from pymongo import ASCENDING, AsyncMongoClient

from bench.procs import database_cpu_seconds, database_pid
from tests.support.servers import MongoServer
from tests.support.system import RunningSystem

# What a caller waits before giving up: far shorter than the whole page takes at 10,000.
GIVE_UP_S = 0.2
ROUNDS = 5
PAGE = 50

Read = Callable[[], Awaitable[None]]


async def _database_cpu(read: Read, pid: int | None, window_s: float) -> float:
    """The database's CPU seconds over `window_s` from the read's start."""
    before, started = database_cpu_seconds(pid), time.monotonic()
    await read()
    # A benchmark waits out its window on the clock: there is no condition to poll.
    await asyncio.sleep(max(0.0, window_s - (time.monotonic() - started)))
    return database_cpu_seconds(pid) - before


async def _given_up(read: Awaitable[Any]) -> None:
    """Awaits `read` for GIVE_UP_S and gives up on it, as a caller with a deadline does."""
    try:
        await asyncio.wait_for(read, GIVE_UP_S)
    except TimeoutError:
        return
    raise RuntimeError(f"the read took less than {GIVE_UP_S} s: nothing was given up")


async def measure_abandoned_reads(
    system: RunningSystem, mongo: MongoServer, company_id: str, token: str, msisdn: str
) -> dict[str, Any]:
    """Database CPU per read: through catalog with a deadline, directly given up, and
    directly read to the end; each ÷ the last. `msisdn`, one of the company's numbers,
    is read first (a point read, before the window) so that the caller's access is
    cached and the deadline is spent on the page, not on asking identity."""
    from services.kit.grpc_client import open_channel
    from vm.catalog.v1 import numbers_pb2, numbers_pb2_grpc

    pid = database_pid(mongo)
    client: AsyncMongoClient = AsyncMongoClient(mongo.url)
    numbers = client[system.settings.database_name("catalog")]["numbers"]
    metadata = (("authorization", f"Bearer {token}"),)

    async def page() -> None:
        cursor = numbers.find({"company_id": company_id}).sort("_id", ASCENDING)
        await cursor.limit(PAGE + 1).to_list()

    try:
        async with open_channel(system.settings.catalog_addr) as channel:
            stub = numbers_pb2_grpc.NumberServiceStub(channel)

            async def caller_access_cached() -> None:
                await stub.GetNumber(
                    numbers_pb2.GetNumberRequest(msisdn=msisdn), timeout=30, metadata=metadata
                )

            async def through_catalog() -> None:
                request = numbers_pb2.ListNumbersRequest(page_size=PAGE)
                try:
                    await stub.ListNumbers(request, timeout=GIVE_UP_S, metadata=metadata)
                except grpc.aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
                        raise
                    return
                raise RuntimeError(f"the page took less than {GIVE_UP_S} s through catalog")

            started = time.monotonic()
            await page()
            window_s = 2 * (time.monotonic() - started) + 0.5
            reads: dict[str, Read] = {
                "idle": lambda: asyncio.sleep(0),
                "catalog, deadline": through_catalog,
                "direct, given up": lambda: _given_up(page()),
                "direct, to the end": page,
            }
            spent: dict[str, list[float]] = {name: [] for name in reads}
            for _ in range(ROUNDS):
                for name, read in reads.items():
                    if read is through_catalog:
                        await caller_access_cached()
                    spent[name].append(await _database_cpu(read, pid, window_s))
    finally:
        await client.close()
    idle = statistics.median(spent.pop("idle"))
    cpu = {name: max(0.0, statistics.median(each) - idle) for name, each in spent.items()}
    whole = cpu["direct, to the end"]
    return {
        "give_up_s": GIVE_UP_S,
        "window_s": round(window_s, 2),
        "idle_database_cpu_s": round(idle, 3),
        "database_cpu_s": {name: round(value, 3) for name, value in cpu.items()},
        "over_to_the_end": {
            name: (value / whole if whole else float("nan"))
            for name, value in cpu.items()
            if name != "direct, to the end"
        },
    }
