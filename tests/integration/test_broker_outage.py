"""A broker outage takes nothing down: identity and catalog run here against a RabbitMQ
node of this test's own; while it is stopped they stay SERVING and keep taking writes, whose
events wait in identity's outbox; once it is back every event is published and catalog
applies each exactly once."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.catalog import main as catalog_main
from services.identity import main as identity_main
from services.kit.runtime import ServiceRuntime
from services.kit.settings import Settings
from tests.integration.conftest import services_on
from tests.support.kit import eventually
from tests.support.rabbitmq_node import RabbitNode, available
from tests.support.requisites import random_inn
from tests.support.servers import MongoServer
from vm.identity.v1 import companies_pb2, companies_pb2_grpc

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not available(), reason="rabbitmq-server is not installed here"),
    pytest.mark.timeout(300),
]

COMPANIES_DURING_OUTAGE = 5
CREATED = "vm.identity.company.created.v1"


@pytest.fixture
async def services(
    mongo_server: MongoServer, own_broker: RabbitNode
) -> AsyncIterator[tuple[Settings, dict[str, ServiceRuntime]]]:
    async with services_on(mongo_server.url, own_broker, identity_main, catalog_main) as running:
        yield running


async def serving(runtime: ServiceRuntime) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{runtime.server.port}") as channel:
        answer = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(), timeout=5
        )
    return answer.status == health_pb2.HealthCheckResponse.SERVING


async def create_company(runtime: ServiceRuntime, settings: Settings) -> str:
    suffix = f"{secrets.randbelow(10**9):09d}"
    operator = (("authorization", f"Operator {settings.operator_token.get_secret_value()}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{runtime.server.port}") as channel:
        created = await companies_pb2_grpc.CompanyServiceStub(channel).CreateCompany(
            companies_pb2.CreateCompanyRequest(
                name=f"ООО Перебой {suffix}",
                inn=random_inn(),
                contract_number=f"O-{suffix}",
                main_number=f"79{suffix}",
                contact_email=f"o{suffix}@test.example",
            ),
            metadata=operator,
            timeout=30,
        )
    return created.company.id


async def test_a_broker_outage_keeps_the_services_serving_and_loses_no_event(
    services, own_broker
) -> None:
    settings, run = services
    identity, catalog = run["identity"], run["catalog"]
    outbox = identity.db["outbox"]
    processed = catalog.db["processed_events"]

    await asyncio.to_thread(own_broker.stop)
    await eventually(
        lambda: not identity.broker.connected.is_set(), timeout=30, what="the broker gone"
    )
    created = [await create_company(identity, settings) for _ in range(COMPANIES_DURING_OUTAGE)]
    # Still serving (the readiness loop has had its turns meanwhile), the events waiting.
    assert await serving(identity) and await serving(catalog)
    waiting = await outbox.count_documents({"type": CREATED, "sent_at": None})
    assert waiting >= COMPANIES_DURING_OUTAGE

    await asyncio.to_thread(own_broker.start)

    async def all_delivered() -> bool:
        pending = await outbox.count_documents({"sent_at": None})
        applied = await processed.count_documents({"type": CREATED})
        return pending == 0 and applied >= COMPANIES_DURING_OUTAGE

    await eventually(all_delivered, timeout=120, what="the outbox drained into catalog")
    sent = [d["event_id"] async for d in outbox.find({"type": CREATED})]
    assert len(sent) == len(set(sent)) >= COMPANIES_DURING_OUTAGE
    # Each event applied exactly once: one marker per event id, none for an unknown one.
    markers = [d["_id"] async for d in processed.find({"type": CREATED})]
    assert sorted(markers) == sorted(sent)
    for company_id in created:
        assert await catalog.db["known_companies"].count_documents({"_id": company_id}) == 1
