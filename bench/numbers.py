"""Catalog's numbers through the gateway beside the same MongoDB query issued directly.

With 1,000 and then 10,000 numbers in the demo company Ромашка (its 520 demo numbers, the
rest added by the operator over gRPC, spread over its hierarchy), three reads at a modest
concurrency (`CONNECTIONS` keep-alive connections), each through the whole system
(gateway → identity's access → catalog → SecantusDB) as the company administrator and
then as the very query catalog's `NumberStore` issues, sent with PyMongo from this
process by as many concurrent tasks to the same database in the same run:

- `list`: `GET /api/v1/numbers?page_size=50` — `find({company_id}).sort(_id).limit(51)`
  (a page and one more, to know whether there is a next page);
- `subtree`: the same page filtered by `node_id` (Москва and everything below it) —
  `find({company_id, node_path: node}).sort(_id).limit(51)`;
- `card`: `GET /api/v1/numbers/{msisdn}` — catalog's `find_one({_id: msisdn, company_id})`
  beside billing's reads for it: its copy of the number, then its account, limits and
  spending together.

The ratio gateway ÷ direct of the latencies says what the layers above the database cost
(target for the lists ≤ 1.3× at p50). The card is one more hop than its query: the
gateway asks catalog and billing together, so it is also set against the bare FastAPI +
gRPC echo hop, measured in the same step at the same concurrency, plus its direct reads
(target ≤ 1.5× at p50). `explain` of each list query says which index
served it (as SecantusDB reports it: its output may differ from MongoDB's). Last, at
10,000 numbers, what the database still spends on a page its caller has given up on
(bench/abandoned_reads.py).
"""

from __future__ import annotations

import asyncio
import json
import math
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from bench.abandoned_reads import measure_abandoned_reads
from bench.direct import Query, measure_direct
from bench.web import (
    LoadOptions,
    bench_echo_hop,
    check_json,
    demo_admin_token,
    fresh_token,
    measure,
    system_processes,
    whole_system,
)
from tests.support.servers import MongoServer
from tests.support.system import RunningSystem, events_consumed

COMPANY_SIZES = (1_000, 10_000)
CONNECTIONS = 8
PAGE = 50
FIRST_MSISDN = 79250000000  # the benchmark's numbers: 7925000xxxx
SUBTREE = "Москва"  # the subtree of the filtered page
# Numbers per AddNumbers call (catalog takes up to 10,000 in one transaction; the embedded
# database needed over its 60 s transaction lifetime for 9,480 on a busy machine).
ADD_BATCH = 2_000
# Adding 9,000 numbers sends as many events to billing, identity and documents.
SETTLE_MAX_SECONDS = 900


def bench_iccid(msisdn: str) -> str:
    """A Luhn-valid ICCID of 20 digits for a benchmark number (never a demo one's)."""
    from services.catalog.domain.numbers import luhn_check_digit

    body = f"89701500{msisdn}"
    return body + luhn_check_digit(body)


async def add_numbers(
    system: RunningSystem,
    company_id: str,
    msisdns: Sequence[str],
    node_ids: Sequence[str],
    tariff_id: str,
) -> None:
    """The operator gives these numbers to the company, round-robin over `node_ids`, in
    calls of at most ADD_BATCH numbers, each once the previous one's events are consumed.
    Imported here: it needs catalog's generated code."""
    from services.kit.grpc_client import open_channel
    from vm.catalog.v1 import numbers_pb2, numbers_pb2_grpc

    token = system.settings.operator_token.get_secret_value()
    operator = (("authorization", f"Operator {token}"),)
    async with open_channel(system.settings.catalog_addr) as channel:
        stub = numbers_pb2_grpc.NumberAdminServiceStub(channel)
        for start in range(0, len(msisdns), ADD_BATCH):
            batch = msisdns[start : start + ADD_BATCH]
            added = await stub.AddNumbers(
                numbers_pb2.AddNumbersRequest(
                    company_id=company_id,
                    numbers=[
                        numbers_pb2.NewNumber(
                            msisdn=m,
                            iccid=bench_iccid(m),
                            tariff_id=tariff_id,
                            node_id=node_ids[(start + i) % len(node_ids)],
                        )
                        for i, m in enumerate(batch)
                    ],
                ),
                metadata=operator,
                timeout=300,
            )
            if added.added != len(batch):
                raise RuntimeError(f"AddNumbers added {added.added} of {len(batch)}")
            # The next call waits for this one's events to be consumed: on the embedded
            # database an AddNumbers beside the consumers of the previous one's 2,000
            # events stalled every transaction until its 60 s reaper aborted them all.
            await events_consumed(system, SETTLE_MAX_SECONDS)


@dataclass(frozen=True)
class Company:
    token: str
    company_id: str
    root_id: str
    node_ids: tuple[str, ...]
    subtree_id: str
    count: int


async def demo_company(system: RunningSystem) -> Company:
    """The demo loaded; Ромашка's administrator token, company, nodes and number count."""
    token, _ = await demo_admin_token(system)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        me = (await api.get("/api/v1/me", headers=headers)).raise_for_status().json()
        hierarchy = await api.get("/api/v1/hierarchy", headers=headers)
        nodes = hierarchy.raise_for_status().json()["nodes"]
    [root] = [n for n in nodes if n["parent_id"] is None]
    [subtree] = [n for n in nodes if n["name"] == SUBTREE]
    return Company(
        token,
        me["company"]["id"],
        root["id"],
        tuple(n["id"] for n in nodes),
        subtree["id"],
        root["number_count"],
    )


@dataclass(frozen=True)
class Read:
    name: str
    path: str  # through the gateway
    query: Query  # the store's query, direct
    criteria: dict[str, Any] | None = None  # a list query's filter (for explain)


def card_reads(company_id: str, msisdn: str, billing_database: str) -> Query:
    """The card's reads as the services issue them, given catalog's database: catalog's
    number, beside billing's — its copy of the number, then its account, its limits and
    this month's spending on it together (`NumberAccountCases.number_billing`)."""
    card = {"_id": msisdn, "company_id": company_id}
    period = datetime.now(UTC).strftime("%Y-%m")

    async def billing(db: AsyncDatabase) -> Any:
        number = await db["billing_numbers"].find_one(card)
        if number is None:
            return None
        account = {"_id": number.get("account_id"), "company_id": company_id}
        spend = {"_id": {"$in": [f"{msisdn}:{period}"]}, "company_id": company_id}
        limits = {"company_id": company_id, "msisdn": msisdn}
        await asyncio.gather(
            db["accounts"].find_one(account),
            db["spending_limits"].find(limits).to_list(),
            db["spend"].find(spend).to_list(),
        )
        return number

    async def read(db: AsyncDatabase) -> Any:
        found = await asyncio.gather(
            db["numbers"].find_one(card), billing(db.client[billing_database])
        )
        return all(found)

    return read


def reads(company: Company, msisdn: str, billing_database: str) -> list[Read]:
    plain = {"company_id": company.company_id}
    subtree = {"company_id": company.company_id, "node_path": company.subtree_id}

    def page(criteria: dict[str, Any]) -> Query:
        async def run(db: AsyncDatabase) -> Any:
            cursor = db["numbers"].find(criteria).sort("_id", ASCENDING).limit(PAGE + 1)
            return [doc async for doc in cursor]

        return run

    return [
        Read("list", f"/api/v1/numbers?page_size={PAGE}", page(plain), plain),
        Read(
            "subtree",
            f"/api/v1/numbers?page_size={PAGE}&node_id={company.subtree_id}",
            page(subtree),
            subtree,
        ),
        Read(
            "card",
            f"/api/v1/numbers/{msisdn}",
            card_reads(company.company_id, msisdn, billing_database),
        ),
    ]


def _walk(plan: Any) -> Iterator[dict[str, Any]]:
    if isinstance(plan, dict):
        yield plan
        for value in plan.values():
            yield from _walk(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from _walk(value)


async def explain(url: str, database: str, criteria: dict[str, Any]) -> dict[str, Any]:
    """The winning plan of the list query (as the store sends it) and the index it names."""
    client: AsyncMongoClient = AsyncMongoClient(url, tz_aware=True)
    try:
        cursor = client[database]["numbers"].find(criteria).sort("_id", ASCENDING)
        explained = await cursor.limit(PAGE + 1).explain()
    finally:
        await client.close()
    planner = explained.get("queryPlanner", explained)
    winning = planner.get("winningPlan", planner) if isinstance(planner, dict) else planner
    parts = list(_walk(winning))
    names = [p["indexName"] for p in parts if "indexName" in p]
    keys = [p["keyPattern"] for p in parts if "keyPattern" in p]
    stages = [p["stage"] for p in parts if "stage" in p]
    text = json.dumps(winning, default=str, ensure_ascii=False)
    return {
        "index": ", ".join(names) or "(no index named)",
        "key_pattern": keys[0] if keys else None,
        "stages": stages,
        "winning_plan": text[:2000],
    }


def _ratio(over: float, under: float) -> float:
    """NaN when nothing completed in the window to compare with."""
    return over / under if under else math.nan


def _measure_reads(
    system: RunningSystem,
    mongo: MongoServer,
    company: Company,
    options: LoadOptions,
    echo_hop_p50: float,
) -> dict[str, Any]:
    """Each read through the gateway, then directly; their ratio; explain of the lists."""
    database = system.settings.database_name("catalog")
    headers = [f"Authorization: Bearer {company.token}"]
    port = system.settings.gateway_port
    processes = system_processes(system, mongo)
    card = str(FIRST_MSISDN + company.count - 1)  # the last number the benchmark added
    found: dict[str, Any] = {}
    billing_database = system.settings.database_name("billing")
    for read in reads(company, card, billing_database):
        body = check_json(port, read.path, headers)
        if read.criteria is not None and len(body["items"]) != PAGE:
            raise RuntimeError(f"GET {read.path} answered {len(body['items'])} numbers")
        if read.criteria is None and body["msisdn"] != card:
            raise RuntimeError(f"GET {read.path} answered another number")
        gateway = measure(port, read.path, options, processes, headers)
        direct = measure_direct(mongo, database, read.query, options)
        if direct["empty_answers"]:
            raise RuntimeError(f"the direct {read.name} query found nothing")
        entry: dict[str, Any] = {
            "path": read.path,
            "gateway": gateway,
            "direct": direct,
            "latency_ratio": {
                key: _ratio(gateway["latency_ms"][key], direct["latency_ms"][key])
                for key in ("p50", "p99")
            },
            "throughput_ratio": _ratio(gateway["requests_per_s"], direct["requests_per_s"]),
            "over_echo_hop_and_direct_p50": _ratio(
                gateway["latency_ms"]["p50"], echo_hop_p50 + direct["latency_ms"]["p50"]
            ),
        }
        if read.criteria is not None:
            entry["explain"] = asyncio.run(explain(mongo.url, database, read.criteria))
        found[read.name] = entry
    return found


def bench_numbers(mongo: MongoServer, amqp_url: str, options: LoadOptions) -> dict[str, Any]:
    load = replace(options, connections=CONNECTIONS)
    # Before the system starts: its idle processes would share the CPU with the hop.
    echo_hop = bench_echo_hop(load, Path(tempfile.mkdtemp(prefix="vm-bench-hop-")))
    with whole_system(mongo, amqp_url) as system:
        company = asyncio.run(demo_company(system))
        from demo.data import STANDARD

        have, sizes = company.count, {}
        for size in COMPANY_SIZES:
            if size < have:
                raise RuntimeError(f"the company has {have} numbers already, more than {size}")
            msisdns = [str(FIRST_MSISDN + n) for n in range(have, size)]
            started = time.perf_counter()
            asyncio.run(
                add_numbers(system, company.company_id, msisdns, company.node_ids, STANDARD)
            )
            added_s = time.perf_counter() - started
            # The reads are measured on a quiet system, not beside the consumers of the
            # number.added events.
            settled = asyncio.run(events_consumed(system, SETTLE_MAX_SECONDS))
            have = size
            company = replace(company, token=fresh_token(system), count=size)
            sizes[str(size)] = {
                "added": len(msisdns),
                "add_seconds": round(added_s, 2),
                "waited_for_its_events_s": round(settled, 1),
                "reads": _measure_reads(
                    system, mongo, company, load, echo_hop["latency_ms"]["p50"]
                ),
            }
        abandoned = asyncio.run(
            measure_abandoned_reads(
                system,
                mongo,
                company.company_id,
                fresh_token(system),
                str(FIRST_MSISDN + company.count - 1),
            )
        )
        return {
            "connections": load.connections,
            "page": PAGE,
            "echo_hop": echo_hop,
            "sizes": sizes,
            "abandoned_reads": abandoned,
        }
