"""Access logs: one JSON line per REST request and per RPC, with the request and trace ids,
the route template (never the path's ids), the status and the time — never a credential."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import grpc
import pytest
from fastapi.testclient import TestClient
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.app import create_app
from services.kit.grpc_server import _wrap_handler
from tests.support.kit import eventually
from tests.support.logs import JsonLines


@pytest.fixture
def access_log() -> Iterator[JsonLines]:
    logger = logging.getLogger("vm.access")
    handler = JsonLines("test", logging.INFO)
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_rest_request_is_one_line_by_its_route_template(access_log) -> None:
    with TestClient(create_app()) as client:
        answer = client.get(
            "/api/v1/numbers/79161234567",
            headers={"authorization": "Bearer not-a-real-token", "x-request-id": "req-42"},
        )
    assert answer.status_code == 401
    [line] = [x for x in access_log.lines if x["msg"] == "request"]
    assert line["route"] == "/api/v1/numbers/{msisdn}" and line["status"] == 401
    assert line["method"] == "GET" and line["duration_ms"] >= 0
    assert line["request_id"] == "req-42" and line["trace_id"]
    text = json.dumps(line)
    assert "79161234567" not in text and "not-a-real-token" not in text


def rpc_lines(access_log: JsonLines) -> list[dict]:
    return [x for x in access_log.lines if x["msg"] == "rpc"]


async def test_an_rpc_is_one_line_with_its_method_and_status(access_log) -> None:
    async def check(request, context):
        if request.service == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such service")
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    async def prepare() -> None:
        return None

    method = "/grpc.health.v1.Health/Check"
    handler = grpc.unary_unary_rpc_method_handler(
        check,
        request_deserializer=health_pb2.HealthCheckRequest.FromString,
        response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "grpc.health.v1.Health", {"Check": _wrap_handler(handler, prepare, method=method)}
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await stub.Check(health_pb2.HealthCheckRequest())
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.Check(health_pb2.HealthCheckRequest(service="missing"))
            assert refused.value.code() == grpc.StatusCode.NOT_FOUND
            # An abort sends its status before the handler ends, so the client may hear it
            # before the line is written.
            await eventually(lambda: len(rpc_lines(access_log)) == 2, what="both calls logged")
    finally:
        await server.stop(None)
    lines = rpc_lines(access_log)
    assert [(x["method"], x["code"]) for x in lines] == [(method, "OK"), (method, "NOT_FOUND")]
    assert all(x["duration_ms"] >= 0 for x in lines)
