"""Every process serves Prometheus metrics: the gateway at /metrics, each service and
worker on its own port; requests, RPCs, events and bulk work show up in them."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.kit.settings import SERVICE_NAMES
from tests.e2e.test_catalog_bulk_operations import finished, start
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.support.kit import eventually
from tests.support.system import METRICS_PORT_OFFSET, RunningSystem

pytestmark = pytest.mark.e2e


def samples(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics page: (name, labels) → value."""
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in found.items() if n == name and wanted <= have)


def process_metrics(system: RunningSystem, process: str) -> str:
    return f"http://127.0.0.1:{system.settings.grpc_port(process) + METRICS_PORT_OFFSET}/metrics"


async def test_the_gateway_counts_each_request_by_its_route_template(api, system, company) -> None:
    admin = bearer(await register(api, company))
    await api.get("/api/v1/numbers/79990001122", headers=admin)
    found = samples(f"{system.gateway_url}/metrics")
    assert value(
        found,
        "vm_http_requests_total",
        method="GET",
        route="/api/v1/numbers/{msisdn}",
        status="404",
    )
    assert value(found, "vm_http_request_duration_seconds_count", route="/api/v1/me") or value(
        found, "vm_http_request_duration_seconds_count", route="/api/v1/auth/registrations"
    )
    # The number itself never becomes a label.
    assert not [
        labels for (_, labels) in found if ("route", "/api/v1/numbers/79990001122") in labels
    ]


async def test_every_service_and_worker_serves_rpcs_events_and_backlog(
    api, system, company
) -> None:
    await register(api, company)
    for process in (*SERVICE_NAMES, "catalog-worker", "documents-worker", "notifications-worker"):
        found = samples(process_metrics(system, process))
        assert ("vm_outbox_pending_events", frozenset()) in found, process
    identity = samples(process_metrics(system, "identity"))
    assert value(identity, "vm_grpc_server_handled_total", code="OK")
    assert value(identity, "vm_logins_total") >= 0

    async def published_and_consumed() -> bool:
        published = samples(process_metrics(system, "identity"))
        consumed = samples(process_metrics(system, "catalog"))
        created = "vm.identity.company.created.v1"
        return bool(
            value(published, "vm_events_published_total", type=created)
            and value(consumed, "vm_events_consumed_total", type=created, outcome="applied")
        )

    await eventually(published_and_consumed, timeout=30, what="company.created counted")


async def test_a_bulk_block_counts_its_numbers_its_job_and_its_database_commands(
    api, system, company
) -> None:
    admin = bearer(await register(api, company))
    msisdns = await give_numbers(system, company.id, ["", ""])
    before = samples(process_metrics(system, "catalog-worker"))
    op = await start(
        api, admin, {"type": "block", "msisdns": msisdns, "params": {"type": "voluntary"}}
    )
    assert (await finished(api, admin, op["id"]))["status"] == "succeeded"

    async def counted() -> bool:
        after = samples(process_metrics(system, "catalog-worker"))
        grown = value(after, "vm_bulk_targets_total", type="block", status="succeeded") - value(
            before, "vm_bulk_targets_total", type="block", status="succeeded"
        )
        jobs = value(after, "vm_jobs_total", outcome="done")
        return grown == len(msisdns) and jobs >= 1

    await eventually(counted, timeout=20, what="the bulk block's numbers counted")

    # The worker changed the numbers: updates of the numbers collection naming them, and
    # the transactions it committed, on no collection.
    after = samples(process_metrics(system, "catalog-worker"))
    database = system.settings.database_name("catalog")

    def grown(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grown(
        "vm_mongo_commands_total", database=database, command="update", collection="numbers"
    )
    assert grown(
        "vm_mongo_documents_written_total", database=database, collection="numbers"
    ) >= len(msisdns)
    assert grown("vm_mongo_commands_total", command="commitTransaction", collection="")
    assert grown("vm_mongo_command_duration_seconds_count", command="update", outcome="succeeded")
