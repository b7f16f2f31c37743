"""A bulk block of 10,000 numbers as one operation, beside two baselines in the same run.

The whole system with the demo loaded and Ромашка grown to 10,000 numbers (as
bench.numbers does). Then, each on its own with the machine quiet:

- `job`: `POST /api/v1/operations {type: block, node_id: root}` — from the request to the
  operation's end as the API reports it (polling `GET /operations/{id}`), with one bulk
  worker process; numbers/s = 10,000 ÷ that time;
- `raw`: single-document `update_one` on a copy of the numbers in a collection of the same
  database (setting the same fields a block sets), sequentially and by 8 concurrent tasks —
  the database's own rate for one write per number;
- `rest`: the same change one number at a time through REST
  (`DELETE /api/v1/numbers/{msisdn}/blocks/voluntary`, the reverse change, so that it acts on
  numbers the job blocked) with `CONNECTIONS` concurrent clients over `REST_SAMPLE` numbers:
  calls/s, and what 10,000 such calls would take.

Targets: job ≥ 0.7× the raw rate on the number documents (the better of sequential and
concurrent), and job ≥ 4× the REST calls' rate. Beside the rates, what bounds them: the
database's CPU per number in the job and per raw update, and the database commands per
number (serverStatus' opcounters) while the job runs and until its events are consumed.
The provisioning simulator answers at once (no latency): what is measured is our own work
and the database's.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection

from bench import profiler
from bench.commands import command_counts, commands_per_unit, documents_per_unit
from bench.direct import commands_per, namespace_times, opcounters, time_per
from bench.numbers import FIRST_MSISDN, SETTLE_MAX_SECONDS, add_numbers, demo_company
from bench.procs import DATABASE, CpuMeter, database_cpu_seconds, database_pid, wait_until_quiet
from bench.web import (
    LoadOptions,
    demo_admin_login,
    fresh_token,
    system_processes,
    whole_system,
)
from services.catalog.domain.bulk import BulkOperation, Targets
from services.catalog.provisioning import MongoAnswers, SimulatedProvisioning
from services.catalog.service.bulk_runner import BulkRunner
from services.catalog.store.intents import IntentStore
from services.catalog.store.numbers import NumberStore
from services.catalog.store.operations import OperationStore
from services.kit.mongo import Transactions, connect_mongo
from services.kit.outbox import Outbox
from tests.support.servers import MongoServer
from tests.support.system import RunningSystem, events_consumed

Doc = dict[str, Any]
JOB_SIZE = 10_000
# The database of the worker's run alone: the catalog's name and this.
ALONE_SUFFIX = "_alone"
REST_SAMPLE = 1_000
CONNECTIONS = 8
RAW_COUNT = 4_000
RAW_TASKS = 8
POLL_SECONDS = 0.2


async def _run_job(system: RunningSystem, token: str, root_id: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": secrets.token_hex(12)}
    body = {"type": "block", "node_id": root_id, "params": {"type": "voluntary"}}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as api:
        started = time.perf_counter()
        accepted = (await api.post("/api/v1/operations", headers=headers, json=body)).json()
        answered = time.perf_counter() - started
        unanswered = 0
        while True:
            await asyncio.sleep(POLL_SECONDS)
            response = await api.get(f"/api/v1/operations/{accepted['id']}", headers=headers)
            if response.status_code == 503:  # the system is busy with the job's events
                unanswered += 1
                continue
            op = response.raise_for_status().json()
            if op["status"] not in ("pending", "running"):
                break
        took = time.perf_counter() - started
    if op["status"] != "succeeded" or op["done"] != JOB_SIZE:
        raise RuntimeError(f"the bulk block did not succeed: {op}")
    return {
        "numbers": op["total"],
        "accepted_in_ms": answered * 1000,
        "seconds": took,
        "numbers_per_s": op["total"] / took,
        "polls_unanswered": unanswered,
    }


async def _delete_webhook_endpoints(system: RunningSystem) -> None:
    """The demo company's webhook endpoints deleted: its events are sent nowhere."""
    token, _ = await demo_admin_login(system)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        listed = (await api.get("/api/v1/webhooks", headers=headers)).raise_for_status()
        for endpoint in listed.json()["items"]:
            deleted = await api.delete(f"/api/v1/webhooks/{endpoint['id']}", headers=headers)
            deleted.raise_for_status()


async def _rest_calls(system: RunningSystem, token: str, msisdns: list[str]) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    queue = list(msisdns)
    latencies: list[float] = []

    async def client(api: httpx.AsyncClient) -> None:
        while queue:
            msisdn = queue.pop()
            started = time.perf_counter()
            response = await api.delete(
                f"/api/v1/numbers/{msisdn}/blocks/voluntary", headers=headers
            )
            if response.status_code != 200:
                raise RuntimeError(f"unblock {msisdn}: {response.status_code} {response.text}")
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60, limits=limits) as api:
        started = time.perf_counter()
        await asyncio.gather(*(client(api) for _ in range(CONNECTIONS)))
        took = time.perf_counter() - started
    latencies.sort()
    rate = len(msisdns) / took
    return {
        "calls": len(msisdns),
        "connections": CONNECTIONS,
        "seconds": took,
        "calls_per_s": rate,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "seconds_for_10000": JOB_SIZE / rate,
    }


async def _update_rates(
    copy: AsyncCollection, ids: list[str], change: Doc, db_pid: int | None = None
) -> dict[str, float]:
    """update_one per document: half of them one after the other, half by RAW_TASKS tasks
    (and the database's CPU per update over both); then one bulk_write of them all, for
    comparison (what batched writes cost)."""

    async def update(chunk: list[str]) -> None:
        for msisdn in chunk:
            await copy.update_one({"_id": msisdn}, {"$set": {**change, "at": time.time()}})

    half = len(ids) // 2
    db_cpu = database_cpu_seconds(db_pid)
    started = time.perf_counter()
    await update(ids[:half])
    sequential = half / (time.perf_counter() - started)
    rest = ids[half:]
    started = time.perf_counter()
    await asyncio.gather(*(update(rest[i::RAW_TASKS]) for i in range(RAW_TASKS)))
    concurrent = len(rest) / (time.perf_counter() - started)
    db_cpu = database_cpu_seconds(db_pid) - db_cpu
    started = time.perf_counter()
    await copy.bulk_write(
        [UpdateOne({"_id": m}, {"$set": {"status": "active", "at": time.time()}}) for m in ids],
        ordered=False,
    )
    batched = len(ids) / (time.perf_counter() - started)
    return {
        "sequential": sequential,
        "concurrent": concurrent,
        "bulk_write": batched,
        "db_cpu_ms_per_update": 1000 * db_cpu / len(ids),
    }


async def _raw_updates(
    url: str, database: str, company_id: str, db_pid: int | None
) -> dict[str, dict[str, float]]:
    """The database's own rate for one write per number, on two copies in the same
    database: small documents with no index but _id, and RAW_COUNT of the company's
    number documents themselves with the numbers collection's indexes (a block changes
    the fields those indexes hold: status)."""
    client = connect_mongo(url, app_name="bench-raw-updates")
    block = {"status": "blocked", "blocks": [{"type": "voluntary"}]}
    try:
        db = client[database]
        small = db["bench_raw_small"]
        await small.drop()
        ids = [str(FIRST_MSISDN + 900_000 + n) for n in range(RAW_COUNT)]
        await small.insert_many([{"_id": m, "company_id": "c", "status": "active"} for m in ids])
        rates = {"small_documents": await _update_rates(small, ids, block, db_pid)}
        await small.drop()

        copy = db["bench_raw_numbers"]
        await copy.drop()
        numbers = await db["numbers"].find({"company_id": company_id}).to_list(RAW_COUNT)
        for name, spec in (await db["numbers"].index_information()).items():
            if name != "_id_":
                options = {k: spec[k] for k in ("unique", "partialFilterExpression") if k in spec}
                await copy.create_index(spec["key"], name=name, **options)
        await copy.insert_many(numbers)
        ids = [doc["_id"] for doc in numbers]
        rates["number_documents"] = await _update_rates(copy, ids, block, db_pid)
        await copy.drop()
    finally:
        await client.close()
    return rates


async def _copy_numbers(url: str, database: str, company_id: str) -> None:
    """The company's numbers as they are before the job, into a database of their own
    (ALONE_SUFFIX), with the catalog's indexes, for `_job_alone`."""
    client = connect_mongo(url, app_name="bench-job-alone")
    try:
        alone = client[database + ALONE_SUFFIX]
        await NumberStore(alone).ensure_indexes()
        await OperationStore(alone).ensure_indexes()
        await IntentStore(alone).ensure_indexes()
        numbers = await client[database]["numbers"].find({"company_id": company_id}).to_list(None)
        await alone["numbers"].insert_many(numbers)
    finally:
        await client.close()


async def _job_alone(url: str, database: str, company_id: str, db_pid: int | None) -> Doc:
    """The bulk worker's own path and nothing else: the same block of the same numbers
    (copied before the job) by a worker in this process, its network stand-in writing its
    record to the database as the system's does; nothing consumes its events. Beside the
    job of the whole system, it tells the worker's own cost from what the events' consumers
    (the audit log, webhooks, billing's copies, the journal) add while it runs."""
    client = connect_mongo(url, app_name="bench-job-alone")
    try:
        db = client[database + ALONE_SUFFIX]
        transactions = Transactions(client)
        operations = OperationStore(db)
        numbers = [doc["_id"] async for doc in db["numbers"].find({}, {"_id": 1})]
        op = BulkOperation(
            id=f"op_alone_{secrets.token_hex(4)}",
            company_id=company_id,
            type="block",
            params={"type": "voluntary"},
            targets=Targets(msisdns=tuple(numbers)),
            scope_nodes=None,
            created_by="bench",
            created_at=datetime.now(UTC) - timedelta(seconds=1),
            total=len(numbers),
        )
        await transactions.run(lambda session: operations.create(op, "", "", session))
        network = SimulatedProvisioning(answers=MongoAnswers(db))
        await network.ensure_indexes()
        worker = BulkRunner.on_database(
            db,
            transactions,
            Outbox(db),
            network,
            sms=None,  # a block sends no SMS
        )
        db_cpu = database_cpu_seconds(db_pid)
        started = time.perf_counter()
        await worker.run(op.id)
        took = time.perf_counter() - started
        db_cpu = database_cpu_seconds(db_pid) - db_cpu
        ended = await operations.get(company_id, op.id)
        if ended is None or ended.status != "succeeded" or ended.done != len(numbers):
            raise RuntimeError(f"the worker alone did not block every number: {ended}")
    finally:
        await client.close()
    return {
        "numbers": len(numbers),
        "seconds": took,
        "numbers_per_s": len(numbers) / took,
        "db_cpu_ms_per_number": 1000 * db_cpu / len(numbers),
    }


def bench_bulk(mongo: MongoServer, amqp_url: str, options: LoadOptions) -> dict[str, Any]:
    with whole_system(mongo, amqp_url) as system:
        company = asyncio.run(demo_company(system))
        from demo.data import STANDARD

        msisdns = [str(FIRST_MSISDN + n) for n in range(company.count, JOB_SIZE)]
        asyncio.run(add_numbers(system, company.company_id, msisdns, company.node_ids, STANDARD))
        company = replace(company, count=JOB_SIZE)
        if options.bulk_without_webhooks:
            asyncio.run(_delete_webhook_endpoints(system))
        database = system.settings.database_name("catalog")
        processes = system_processes(system, mongo)

        asyncio.run(_copy_numbers(mongo.url, database, company.company_id))
        settled = asyncio.run(events_consumed(system, SETTLE_MAX_SECONDS))
        waited = wait_until_quiet(options.quiet_wait)
        meter = CpuMeter(processes)
        token = fresh_token(system)  # a login is not the job's cost: before the meters
        counted = asyncio.run(opcounters(mongo.url))
        timed = asyncio.run(namespace_times(mongo.url))
        sent = command_counts(system)
        db_pid = database_pid(mongo)
        profile = options.profiles / "bulk-job-database.txt" if options.profiles else None
        meter.start()
        with profiler.sampled(db_pid if profile else None, profile or Path()) as recording:
            job = asyncio.run(_run_job(system, token, company.root_id))
        meter.stop()
        if profile:
            job["database_profile"] = profiler.summary(recording)
        ended = asyncio.run(opcounters(mongo.url))
        job["cpu_percent"] = meter.percent
        job["waited_for_idle_machine_s"] = waited
        job["waited_for_set_up_events_s"] = settled
        # What the job cost the database, per number: while it ran, then with its events
        # consumed too (the audit log, the journal, billing's copies, notifications).
        job["db_cpu_ms_per_number"] = 1000 * meter.seconds.get(DATABASE, math.nan) / JOB_SIZE
        job["db_commands_per_number"] = commands_per(counted, ended, JOB_SIZE)
        db_cpu = database_cpu_seconds(db_pid)
        job["consumed_after_s"] = asyncio.run(events_consumed(system, SETTLE_MAX_SECONDS))
        db_cpu = database_cpu_seconds(db_pid) - db_cpu
        job["db_cpu_ms_per_number_consumers_after"] = 1000 * db_cpu / JOB_SIZE
        job["db_commands_per_number_with_consumers"] = commands_per(
            counted, asyncio.run(opcounters(mongo.url)), JOB_SIZE
        )
        # Where the database's time went, by collection (its own `top`), over the same span.
        job["db_time_per_number_by_collection"] = time_per(
            timed, asyncio.run(namespace_times(mongo.url)), JOB_SIZE
        )
        # Who sent them: each process's own count, by command and collection.
        consumed = command_counts(system)
        shares = commands_per_unit(sent, consumed, JOB_SIZE)
        job["commands_per_number_by_source"] = [share.as_json() for share in shares]
        written = documents_per_unit(sent, consumed, JOB_SIZE)
        job["documents_written_per_number"] = [share.as_json() for share in written]

        wait_until_quiet(options.quiet_wait)
        raw = asyncio.run(_raw_updates(mongo.url, database, company.company_id, db_pid))

        wait_until_quiet(options.quiet_wait)
        rest = asyncio.run(_rest_calls(system, fresh_token(system), msisdns[:REST_SAMPLE]))

        wait_until_quiet(options.quiet_wait)
        alone = asyncio.run(_job_alone(mongo.url, database, company.company_id, db_pid))
        best_raw = {kind: max(r["sequential"], r["concurrent"]) for kind, r in raw.items()}
        return {
            "without_webhooks": options.bulk_without_webhooks,
            "job": job,
            "job_alone": alone,
            "job_alone_over_raw_numbers": alone["numbers_per_s"] / best_raw["number_documents"],
            "raw_updates_per_s": raw,
            "rest": rest,
            "job_over_raw": job["numbers_per_s"] / best_raw["small_documents"],
            "job_over_raw_numbers": job["numbers_per_s"] / best_raw["number_documents"],
            "job_over_rest": job["numbers_per_s"] / rest["calls_per_s"],
            "database": DATABASE,
        }
