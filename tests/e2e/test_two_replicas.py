"""Scale-out on one machine: two replicas of every service, worker and gateway (and so of
every outbox relay and consumer), clients balancing round_robin over both. The flows run
through both gateways; afterwards each replica's own metrics must show that it served
traffic (the webhook workers share deliveries by endpoint, one replica an endpoint at a
time: with one endpoint, their attempts are summed), and every result must be right — a bulk
block with one result per number, reports made, transfers applied once each even when
retried through the other gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import grpc
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.kit.settings import SERVICE_NAMES
from tests.e2e.conftest import client_address, new_company
from tests.e2e.test_billing import open_account, pay
from tests.e2e.test_catalog_bulk_operations import finished, results, start
from tests.e2e.test_catalog_hierarchy import add_node, root_node
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.support.kit import eventually
from tests.support.servers import MongoServer, delete_broker_namespace
from tests.support.system import (
    METRICS_PORT_OFFSET,
    WORKERS,
    ReplicatedSystem,
    start_replicated_system,
)
from tests.support.webhook_receiver import start_receiver, stop_receiver

pytestmark = pytest.mark.e2e

NUMBERS = 40
# The notifications workers share webhook deliveries by endpoint (one holds an endpoint's
# lease at a time): with the one endpoint here, their attempts are summed.
WEBHOOK_WORKER = "notifications-worker"
TRANSFERS = 30


@pytest.fixture(scope="module")
def replicated(mongo_server: MongoServer, amqp: str) -> Iterator[ReplicatedSystem]:
    running = start_replicated_system(mongo_server.url, amqp, replicas=2)
    yield running
    running.stop()
    asyncio.run(delete_broker_namespace(amqp, running.settings.amqp_prefix, SERVICE_NAMES))


@pytest.fixture
async def gateways(replicated: ReplicatedSystem) -> AsyncIterator[list[httpx.AsyncClient]]:
    """A client of each gateway replica, as one person's browser behind a load balancer."""
    address = client_address()
    clients = [
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{replicated.ports[name]}",
            timeout=60,
            headers={"x-forwarded-for": address},
        )
        for name in replicated.replicas_of("gateway")
    ]
    yield clients
    for client in clients:
        await client.aclose()


async def samples(url: str) -> dict[str, float]:
    """A process's metrics, each series summed over its labels."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(url)).text
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def metrics_url(system: ReplicatedSystem, process: str) -> str:
    if process.startswith("gateway"):
        return f"http://127.0.0.1:{system.ports[process]}/metrics"
    return f"http://127.0.0.1:{system.ports[process] + METRICS_PORT_OFFSET}/metrics"


async def test_both_replicas_of_everything_serve_and_every_result_is_right(
    replicated: ReplicatedSystem, gateways: list[httpx.AsyncClient]
) -> None:
    first, second = gateways
    async with grpc.aio.insecure_channel(replicated.settings.identity_addr) as channel:
        company = await new_company(replicated, channel)
    admin = bearer(await register(first, company))

    # Reads through both gateways: each gateway's channels alternate between the replicas.
    for api in gateways * 10:
        me = await api.get("/api/v1/me", headers=admin)
        assert me.status_code == 200, me.text
        choices = await api.get("/api/v1/me/notifications", headers=admin)
        assert choices.status_code == 200, choices.text
    # A webhook endpoint: the blocks below are delivered by the notifications workers.
    hooks = start_receiver()
    hook = await first.post(
        "/api/v1/webhooks",
        headers=admin,
        json={"url": hooks.url("/hook"), "event_types": ["number.blocked"]},
    )
    assert hook.status_code == 201, hook.text
    # And a rule on each unblock: its runs are notifications' own events (the journal's).
    rule = await second.post(
        "/api/v1/automation-rules",
        headers=admin,
        json={
            "name": "Снятие блокировки",
            "trigger": "number.unblocked",
            "actions": [
                {
                    "type": "send_email",
                    "addresses": ["noc@replicas.example"],
                    "subject": "Блокировка снята",
                    "text": "Номер снова работает.",
                }
            ],
        },
    )
    assert rule.status_code == 201, rule.text

    # A bulk block of a subtree, and more operations than one worker takes at once.
    region = await add_node(second, admin, await root_node(second, admin), "Москва", "region")
    msisdns = await give_numbers(replicated, company.id, [region["id"]] * NUMBERS)
    block = {"type": "block", "node_id": region["id"], "params": {"type": "voluntary"}}
    unblock = {**block, "type": "unblock"}
    ended = []
    for body, api in ((block, first), (unblock, second), (block, first), (unblock, second)):
        op = await start(api, admin, body)
        ended.append(await finished(api, admin, op["id"], timeout=120))
    for op in ended:
        assert (op["status"], op["total"], op["failed"]) == ("succeeded", NUMBERS, 0), op
        per_number = await results(first, admin, op)
        assert sorted(per_number) == sorted(msisdns)

    # Reports for the documents workers.
    reports = []
    for api in gateways * 2:
        body = {"type": "usage", "format": "csv", "node_id": region["id"], "period": "2026-11"}
        reports.append(await start(api, admin, body, "/api/v1/reports"))
    for op in reports:
        done = await finished(first, admin, op["id"], timeout=120)
        assert done["status"] == "succeeded", done

    # Tickets through both gateways, each read back through the other.
    for index, api in enumerate(gateways * 3):
        body = {"category": "technical", "subject": f"Нет связи {index}", "text": "С утра"}
        opened = await api.post("/api/v1/tickets", headers=admin, json=body)
        assert opened.status_code == 201, opened.text
        other = gateways[(index + 1) % 2]
        read = await other.get(f"/api/v1/tickets/{opened.json()['id']}", headers=admin)
        assert read.json()["subject"] == body["subject"]

    # Transfers through both gateways, each retried once through the other one with the
    # same Idempotency-Key: applied once each.
    donor = await open_account(replicated, company.id)
    receiver = await open_account(replicated, company.id)
    await pay(replicated, company.id, donor, 100_000)
    for index in range(TRANSFERS):
        key = {"idempotency-key": uuid.uuid4().hex}
        body = {
            "from_account_id": donor,
            "to_account_id": receiver,
            "amount": {"amount": 100, "currency": "RUB"},
        }
        answers = [
            await api.post("/api/v1/transfers", headers={**admin, **key}, json=body)
            for api in (gateways[index % 2], gateways[(index + 1) % 2])
        ]
        assert [a.status_code for a in answers] == [201, 201], answers[0].text
        assert answers[0].json() == answers[1].json()
    balances = {
        account: (await first.get(f"/api/v1/accounts/{account}", headers=admin)).json()
        for account in (donor, receiver)
    }
    assert balances[donor]["balance"]["amount"] == 100_000 - TRANSFERS * 100
    assert balances[receiver]["balance"]["amount"] == TRANSFERS * 100

    # Every replica served: RPCs answered by each service replica, jobs taken by each
    # worker replica, requests by each gateway, events consumed by each replica of the
    # services that consume (the outbox relays share one lease per service: one publishes
    # at a time, so their sum is checked).
    async def every_block_delivered() -> bool:
        return len(hooks.requests) >= 2 * NUMBERS

    await eventually(every_block_delivered, timeout=120, interval=0.2, what="the deliveries")

    async def the_rule_ran() -> bool:
        runs = await first.get(f"/api/v1/automation-rules/{rule.json()['id']}/runs", headers=admin)
        return any(r["outcome"] == "ran" for r in runs.json()["items"])

    await eventually(the_rule_ran, timeout=120, interval=0.2, what="a run of the rule")
    stop_receiver(hooks)
    served = {p: await samples(metrics_url(replicated, p)) for p in replicated.ports}
    for name in SERVICE_NAMES:
        rpcs = {
            p: served[p].get("vm_grpc_server_handled_total", 0)
            for p in replicated.replicas_of(name)
        }
        assert all(count > 0 for count in rpcs.values()), (name, rpcs)
        # Every process on the service's database runs a relay (its worker's too): one
        # holds the lease at a time.
        on_its_database = [*rpcs, *replicated.replicas_of(f"{name}-worker")]
        published = sum(served[p].get("vm_events_published_total", 0) for p in on_its_database)
        assert published > 0, name
    for name in ("identity", "documents"):
        consumed = {
            p: served[p].get("vm_events_consumed_total", 0) for p in replicated.replicas_of(name)
        }
        assert all(count > 0 for count in consumed.values()), (name, consumed)
    for worker in WORKERS:
        if worker == WEBHOOK_WORKER:
            continue
        jobs = {p: served[p].get("vm_jobs_total", 0) for p in replicated.replicas_of(worker)}
        assert all(count > 0 for count in jobs.values()), (worker, jobs)
    attempts = sum(
        served[p].get("vm_webhook_attempts_total", 0)
        for p in replicated.replicas_of(WEBHOOK_WORKER)
    )
    assert attempts > 0
    # Each number's block went out (at least once: a timed-out attempt is sent again).
    assert len({r.headers["webhook-id"] for r in hooks.requests}) == 2 * NUMBERS
    requests = {
        p: served[p].get("vm_http_requests_total", 0) for p in replicated.replicas_of("gateway")
    }
    assert all(count > 0 for count in requests.values()), requests
