"""Webhook deliveries: how many per second reach a local receiver, how long after the
event's commit, and whether a slow endpoint holds the others back.

The whole system with the demo loaded (its administrator holds webhooks.manage). Ромашка's
numbers are blocked and then unblocked by two bulk operations of `SAMPLE` numbers each
(the bulk path: their events come as fast as the system makes them):

- `alone`: one endpoint taking `number.blocked`, answering at once, beside a twin that takes
  them too and answers at once as well (so that both phases make as many deliveries):
  deliveries/s (from the first event's time to the last delivery) and the delay from each
  event's time — written in its producer's transaction, so a few milliseconds before its
  commit — to its arrival at the receiver (p50, p99), and the worker's own share from the
  delivery log (from the delivery's creation, when the event was consumed, to its
  successful attempt);
- `beside_slow`: the same endpoint taking `number.unblocked`, with the second endpoint
  taking them too but answering each after `SLOW_ANSWER_SECONDS`: the fast endpoint's
  figures again. A slow endpoint may hold at most a share of a worker's deliveries in
  flight (service/delivering.py), so the fast one's delay should not grow by the slow
  one's answer time: the same work, only the second endpoint's answers are slower.

One notifications worker (the system's), `VM_WEBHOOK_DELIVERIES_AT_ONCE` deliveries in
flight. The receiver is an HTTP server in this process (tests/support/webhook_receiver.py).

Then, the system stopped: `backlog`, `BACKLOG` deliveries due at once to one endpoint in a
database of their own, drained by one delivery worker in this process with the system's
limits: deliveries/s and the database's CPU per delivery — the worker's reads, its
endpoint's lease and the attempts' records, not the deliveries' inserts before.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from pymongo.asynchronous.database import AsyncDatabase

from bench.loadgen import percentile
from bench.numbers import demo_company
from bench.procs import DATABASE, CpuMeter, database_cpu_seconds, database_pid, wait_until_quiet
from bench.web import LoadOptions, system_processes, whole_system
from services.kit.events import Event
from services.kit.mongo import connect_mongo
from services.kit.settings import Settings
from services.notifications.domain.webhooks import DELIVERED
from services.notifications.service.delivering import Deliverer, DeliveryWorker
from services.notifications.service.endpoints import add_endpoint
from services.notifications.service.fan_out import fan_out
from services.notifications.service.webhook_http import WebhookClient
from services.notifications.store.deliveries import DELIVERIES, DeliveryStore
from services.notifications.store.endpoints import EndpointStore
from services.notifications.worker import worker_limits
from tests.support.servers import MongoServer
from tests.support.system import RunningSystem, events_consumed
from tests.support.webhook_receiver import (
    Received,
    Receiver,
    Reply,
    start_receiver,
    stop_receiver,
)

SAMPLE = 1_000
BACKLOG = 3_000
SINGLE_BLOCKS = 20  # single-number blocks, one after another, before the bulk phases
SLOW_ANSWER_SECONDS = 2.0
POLL_SECONDS = 0.2
DELIVERY_WAIT_SECONDS = 600.0


async def _endpoint(api: httpx.AsyncClient, headers: dict[str, str], url: str, event: str) -> str:
    response = await api.post(
        "/api/v1/webhooks", headers=headers, json={"url": url, "event_types": [event]}
    )
    return str(response.raise_for_status().json()["endpoint"]["id"])


async def _bulk(
    api: httpx.AsyncClient, headers: dict[str, str], kind: str, msisdns: list[str]
) -> None:
    body = {"type": kind, "msisdns": msisdns, "params": {"type": "voluntary"}}
    keyed = {**headers, "Idempotency-Key": secrets.token_hex(12)}
    accepted = (await api.post("/api/v1/operations", headers=keyed, json=body)).raise_for_status()
    operation_id = accepted.json()["id"]
    while True:
        await asyncio.sleep(POLL_SECONDS)
        response = await api.get(f"/api/v1/operations/{operation_id}", headers=headers)
        if response.status_code == 503:
            continue
        op = response.raise_for_status().json()
        if op["status"] not in ("pending", "running"):
            break
    if op["status"] != "succeeded":
        raise RuntimeError(f"the bulk {kind} did not succeed: {op}")


def _of_the_sample(request: Received, path: str, msisdns: set[str]) -> bool:
    """A delivery of this phase: to `path`, about a number of the sample, a voluntary block
    (the set-up's own events — financial blocks of numbers on an empty account — are not)."""
    if request.path != path:
        return False
    data = json.loads(request.body)["data"]
    return data.get("msisdn") in msisdns and data.get("block_type") == "voluntary"


async def _arrivals(receiver: Receiver, path: str, msisdns: set[str]) -> list[tuple[float, float]]:
    """(event time, arrival) in wall-clock seconds of the phase's deliveries to `path`."""
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while True:
        found = [r for r in list(receiver.requests) if _of_the_sample(r, path, msisdns)]
        if len(found) >= len(msisdns):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path}: {len(found)} of {len(msisdns)} deliveries")
        await asyncio.sleep(POLL_SECONDS)
    return [
        (datetime.fromisoformat(json.loads(r.body)["time"]).timestamp(), r.arrived_at)
        for r in found
    ]


async def _queued_to_delivered(
    api: httpx.AsyncClient, headers: dict[str, str], endpoint_id: str
) -> dict[str, float]:
    """The worker's own share, from the delivery log: from a delivery's creation (the
    event consumed) to its successful attempt, p50 and p99 in ms."""
    waits: list[float] = []
    token = ""
    while True:
        params = {
            "page_size": 500,
            "state": "succeeded",
            **({"page_token": token} if token else {}),
        }
        page = await api.get(
            f"/api/v1/webhooks/{endpoint_id}/deliveries", headers=headers, params=params
        )
        found = page.raise_for_status().json()
        for delivery in found["items"]:
            created = datetime.fromisoformat(delivery["created_at"])
            done = datetime.fromisoformat(delivery["attempts"][-1]["at"])
            waits.append((done - created).total_seconds())
        token = found["next_page_token"]
        if not token:
            break
    waits.sort()
    return {"p50": percentile(waits, 0.5) * 1000, "p99": percentile(waits, 0.99) * 1000}


def _figures(times: list[tuple[float, float]]) -> dict[str, Any]:
    delays = sorted(arrived - happened for happened, arrived in times)
    span = max(a for _, a in times) - min(h for h, _ in times)
    return {
        "deliveries": len(times),
        "deliveries_per_s": len(times) / span,
        "seconds": span,
        "commit_to_delivery_ms": {
            "p50": percentile(delays, 0.5) * 1000,
            "p99": percentile(delays, 0.99) * 1000,
            "max": delays[-1] * 1000,
        },
    }


async def _single_blocks(
    api: httpx.AsyncClient, headers: dict[str, str], receiver: Receiver, msisdns: list[str]
) -> dict[str, float]:
    """A person's block of one number (`POST /numbers/{msisdn}/blocks`), one after another on
    a quiet system: from the call to the signed delivery's arrival, p50 and max in ms (the
    issue's "within 2 s")."""
    endpoint_id = await _endpoint(api, headers, receiver.url("/single"), "number.blocked")
    delays: list[float] = []
    for msisdn in msisdns:
        called = time.time()
        response = await api.post(
            f"/api/v1/numbers/{msisdn}/blocks", headers=headers, json={"type": "voluntary"}
        )
        response.raise_for_status()
        [(_, arrived)] = await _arrivals(receiver, "/single", {msisdn})
        delays.append(arrived - called)
    # Gone before the bulk phases, which so make as many deliveries each.
    (await api.delete(f"/api/v1/webhooks/{endpoint_id}", headers=headers)).raise_for_status()
    delays.sort()
    return {"p50": percentile(delays, 0.5) * 1000, "max": delays[-1] * 1000}


async def _measure(
    system: RunningSystem, token: str, msisdns: list[str], meter: CpuMeter
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    receiver = start_receiver()
    receiver.defaults["/slow"] = Reply(delay=SLOW_ANSWER_SECONDS)
    try:
        async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as api:
            # Numbers outside the sample, so that its bulk block finds them all unblocked.
            single = await _single_blocks(api, headers, receiver, msisdns[SAMPLE:])
            alone_id = await _endpoint(api, headers, receiver.url("/alone"), "number.blocked")
            await _endpoint(api, headers, receiver.url("/twin"), "number.blocked")
            meter.start()
            await _bulk(api, headers, "block", msisdns[:SAMPLE])
            sample = set(msisdns[:SAMPLE])
            alone = _figures(await _arrivals(receiver, "/alone", sample))
            alone["cpu_percent"] = meter.stop()
            alone["queued_to_delivered_ms"] = await _queued_to_delivered(api, headers, alone_id)
            fast_id = await _endpoint(api, headers, receiver.url("/fast"), "number.unblocked")
            await _endpoint(api, headers, receiver.url("/slow"), "number.unblocked")
            meter.start()
            await _bulk(api, headers, "unblock", msisdns[:SAMPLE])
            beside = _figures(await _arrivals(receiver, "/fast", sample))
            beside["cpu_percent"] = meter.stop()
            beside["queued_to_delivered_ms"] = await _queued_to_delivered(api, headers, fast_id)
            beside["slow_endpoint_delivered_meanwhile"] = sum(
                1 for r in receiver.requests if r.path == "/slow"
            )
            alone["twin_endpoint_delivered_meanwhile"] = sum(
                1 for r in receiver.requests if r.path == "/twin"
            )
    finally:
        stop_receiver(receiver)
    return {"single_block_to_delivery_ms": single, "alone": alone, "beside_slow": beside}


def bench_webhooks(mongo: MongoServer, amqp_url: str, options: LoadOptions) -> dict[str, Any]:
    with whole_system(mongo, amqp_url) as system:
        company = asyncio.run(demo_company(system))
        msisdns = asyncio.run(_company_numbers(system, company.token))
        settled = asyncio.run(events_consumed(system, 300))
        waited = wait_until_quiet(options.quiet_wait)
        meter = CpuMeter(system_processes(system, mongo))
        result = asyncio.run(_measure(system, company.token, msisdns, meter))
        alone, beside = result["alone"], result["beside_slow"]
        # The worker's own share: whether the slow endpoint held the fast one's deliveries.
        result["p99_beside_slow_over_alone"] = (
            beside["queued_to_delivered_ms"]["p99"] / alone["queued_to_delivered_ms"]["p99"]
        )
        result["waited_for_idle_machine_s"] = waited
        result["waited_for_set_up_events_s"] = settled
        result["slow_answer_s"] = SLOW_ANSWER_SECONDS
    wait_until_quiet(options.quiet_wait)  # the system's processes gone
    result["backlog"] = asyncio.run(backlog_drained(mongo, BACKLOG))
    result["database"] = DATABASE
    return result


async def backlog_drained(mongo: MongoServer, backlog: int) -> dict[str, Any]:
    """`backlog` deliveries to one endpoint, due at once, drained by one worker."""
    client = connect_mongo(mongo.url, app_name="bench-webhooks")
    receiver = start_receiver()
    webhooks = WebhookClient(dev_mode=True)
    try:
        db = client.get_database(f"bench_webhooks_{secrets.token_hex(4)}")
        endpoints, deliveries = EndpointStore(db), DeliveryStore(db)
        await endpoints.ensure_indexes()
        await deliveries.ensure_indexes()
        await _fanned_out(endpoints, deliveries, receiver.url("/backlog"), backlog)
        worker = DeliveryWorker(
            deliveries,
            Deliverer(deliveries, endpoints, webhooks, dev_mode=True),
            limits=worker_limits(Settings()),
        )
        cpu_before, started = database_cpu_seconds(database_pid(mongo)), time.monotonic()
        running = asyncio.create_task(worker.run(poll=POLL_SECONDS))
        delivered = await _all_delivered(db, backlog)
        worker.stop()
        await running
        seconds = time.monotonic() - started
        cpu = database_cpu_seconds(database_pid(mongo)) - cpu_before
        await client.drop_database(db.name)
        return {
            "deliveries": delivered,
            "deliveries_per_s": delivered / seconds,
            "database_cpu_ms_per_delivery": cpu / delivered * 1000,
        }
    finally:
        await webhooks.aclose()
        stop_receiver(receiver)
        await client.close()


async def _fanned_out(
    endpoints: EndpointStore, deliveries: DeliveryStore, url: str, count: int
) -> None:
    """`count` events of as many numbers, fanned out to one endpoint as notifications'
    consumer does."""
    now = datetime.now(UTC)
    company = "cmp_bench_webhooks"
    await add_endpoint(
        endpoints, company, url=url, event_types=["number.blocked"], dev_mode=True, now=now
    )
    for n in range(count):
        event = Event(
            id=str(uuid.uuid4()),
            type="number.blocked",
            source="/services/catalog",
            time=now,
            data={"msisdn": str(79990000000 + n), "reason": "financial"},
            company_id=company,
        )
        await fan_out(event, endpoints, deliveries, now)


async def _all_delivered(db: AsyncDatabase, count: int) -> int:
    deliveries = db[DELIVERIES]
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while (done := await deliveries.count_documents({"state": DELIVERED})) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done} of {count} webhook deliveries delivered")
        await asyncio.sleep(POLL_SECONDS)
    return done


async def _company_numbers(system: RunningSystem, token: str) -> list[str]:
    """`SAMPLE` + `SINGLE_BLOCKS` of the demo company's numbers, adding numbers if it has
    fewer."""
    from bench.numbers import FIRST_MSISDN, add_numbers
    from demo.data import STANDARD

    company = await demo_company(system)
    wanted = SAMPLE + SINGLE_BLOCKS
    if company.count < wanted:
        more = [str(FIRST_MSISDN + n) for n in range(company.count, wanted)]
        await add_numbers(system, company.company_id, more, company.node_ids, STANDARD)
    headers = {"Authorization": f"Bearer {token}"}
    found: list[str] = []
    token_ = ""
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=60) as api:
        while len(found) < wanted:
            params = {"page_size": 500, **({"page_token": token_} if token_ else {})}
            page = (await api.get("/api/v1/numbers", headers=headers, params=params)).json()
            found += [n["msisdn"] for n in page["items"] if n["status"] == "active"]
            token_ = page["next_page_token"]
            if not token_:
                break
    return found[:wanted]
