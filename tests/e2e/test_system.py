"""The system as a whole: health, events between services, graceful stop."""

from __future__ import annotations

import asyncio
import signal

import grpc
import httpx
import pytest

from services.kit.settings import SERVICE_NAMES
from tests.e2e.conftest import operator_metadata
from tests.support.system import RunningSystem
from vm.billing.v1 import billing_pb2, billing_pb2_grpc
from vm.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from vm.documents.v1 import documents_pb2, documents_pb2_grpc
from vm.tickets.v1 import tickets_pb2, tickets_pb2_grpc

pytestmark = pytest.mark.e2e

PROJECTIONS = {
    "catalog": (catalog_pb2_grpc.CatalogOperatorServiceStub, catalog_pb2.GetCompanyRequest),
    "billing": (billing_pb2_grpc.BillingOperatorServiceStub, billing_pb2.GetCompanyRequest),
    "documents": (documents_pb2_grpc.DocumentsOperatorServiceStub, documents_pb2.GetCompanyRequest),
    "tickets": (tickets_pb2_grpc.TicketsOperatorServiceStub, tickets_pb2.GetCompanyRequest),
}


async def test_healthz_lists_every_service_serving(api):
    response = await api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "services": dict.fromkeys(SERVICE_NAMES, "SERVING")}


async def test_a_new_company_reaches_every_service_through_events(system: RunningSystem, company):
    """identity's outbox → RabbitMQ → each service's consumer → its local copy."""
    for name, (stub_class, request_class) in PROJECTIONS.items():
        async with grpc.aio.insecure_channel(system.settings.grpc_addr(name)) as channel:
            stub = stub_class(channel)
            known = None
            for _ in range(100):
                try:
                    known = await stub.GetCompany(
                        request_class(company_id=company.id), metadata=operator_metadata(system)
                    )
                    break
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.NOT_FOUND
                    await asyncio.sleep(0.1)
            assert known is not None, f"{name} never learnt of the company"
            assert known.company.name == company.name


async def test_a_stopped_service_makes_healthz_503_and_stops_gracefully(system: RunningSystem, api):
    exit_code = system.stop_process("tickets", signal.SIGTERM)
    try:
        assert exit_code == 0  # drained and exited on SIGTERM, not killed
        response = await api.get("/healthz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] != "ok"
        assert body["services"]["tickets"] == "UNREACHABLE"
        assert body["services"]["identity"] == "SERVING"
    finally:
        system.start_process("tickets", "services.tickets")
        await asyncio.to_thread(system.wait_healthy)
    assert (await api.get("/healthz")).status_code == 200


async def test_openapi_docs_are_served(api):
    assert (await api.get("/docs")).status_code == 200
    spec = (await api.get("/openapi.json")).json()
    assert "/api/v1/me" in spec["paths"]
    assert "/api/v1/auth/registrations/{registration_id}/confirm" in spec["paths"]


async def test_dev_messages_needs_no_token_and_filters_by_recipient(api):
    response = await api.get("/dev/messages", params={"to": "nobody@nowhere.example"})
    assert response.status_code == 200
    assert response.json() == {"items": []}


def test_gateway_is_plain_http(system: RunningSystem):
    assert httpx.get(f"{system.gateway_url}/healthz").status_code == 200


async def test_every_service_answers_health_for_readiness_and_liveness(system: RunningSystem):
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    for name in SERVICE_NAMES:
        async with grpc.aio.insecure_channel(system.settings.grpc_addr(name)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for service in ("", "liveness"):
                answer = await stub.Check(health_pb2.HealthCheckRequest(service=service))
                assert answer.status == health_pb2.HealthCheckResponse.SERVING, (name, service)
