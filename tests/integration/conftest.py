"""Integration fixtures: identity running in this process, one per test module."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import ModuleType

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.identity import main as identity_main
from services.kit.mongo import Transactions, connect_mongo
from services.kit.runtime import ServiceRuntime
from services.kit.settings import SERVICE_NAMES, Settings
from tests.support.kit import Clients, eventually, kit_clients
from tests.support.rabbitmq_node import RabbitNode
from tests.support.servers import (
    MongoServer,
    delete_broker_namespace,
    isolated_settings,
    namespace,
)


@pytest.fixture(scope="module")
async def module_settings(mongo_server: MongoServer, amqp: str) -> AsyncIterator[Settings]:
    """Like `settings`, but shared by the tests of one module (one identity serves them)."""
    prefix = namespace()
    yield isolated_settings(mongo_server.url, amqp, prefix)
    await delete_broker_namespace(amqp, f"{prefix}.", (*SERVICE_NAMES, "test"))


@pytest.fixture(scope="module")
async def identity(module_settings: Settings) -> AsyncIterator[ServiceRuntime]:
    runtime = await identity_main.start(module_settings, address="127.0.0.1:0")
    await runtime.wait_ready(within_seconds=20)

    async def serving() -> bool:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{runtime.server.port}") as channel:
            response = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest()
            )
        return response.status == health_pb2.HealthCheckResponse.SERVING

    await eventually(serving, timeout=10, interval=0.1, what="identity serving")
    yield runtime
    await runtime.stop()


@pytest.fixture
async def channel(identity: ServiceRuntime) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity.server.port}") as opened:
        yield opened


@pytest.fixture
async def clients(settings: Settings) -> AsyncIterator[Clients]:
    """MongoDB and RabbitMQ clients in the test's own namespace."""
    async with kit_clients(settings) as opened:
        yield opened


@pytest.fixture
async def mongo_client(mongo_server: MongoServer) -> AsyncIterator[AsyncMongoClient]:
    opened: AsyncMongoClient = connect_mongo(mongo_server.url, app_name="integration-tests")
    yield opened
    await opened.close()


@pytest.fixture
def db(mongo_client: AsyncMongoClient) -> AsyncDatabase:
    """A catalog-like database of the test's own."""
    return mongo_client.get_database(f"{namespace()}_catalog")


@pytest.fixture
def transactions(mongo_client: AsyncMongoClient) -> Transactions:
    return Transactions(mongo_client)


@pytest.fixture
async def own_broker() -> AsyncIterator[RabbitNode]:
    """A RabbitMQ node of the test's own, to stop and start (never the shared broker)."""
    node = RabbitNode()
    await asyncio.to_thread(node.start)
    yield node
    await asyncio.to_thread(node.remove)


@asynccontextmanager
async def services_on(
    mongo_url: str, broker: RabbitNode, *mains: ModuleType
) -> AsyncIterator[tuple[Settings, dict[str, ServiceRuntime]]]:
    """The services of `mains` (their `main` modules) running here against `broker`, ready;
    by name (`identity`, `catalog` …)."""
    prefix = namespace()
    settings = isolated_settings(mongo_url, broker.url, prefix)
    runtimes = {main.NAME: await main.start(settings, address="127.0.0.1:0") for main in mains}
    for runtime in runtimes.values():
        await runtime.wait_ready(within_seconds=60)
    try:
        yield settings, runtimes
    finally:
        for runtime in runtimes.values():
            await runtime.stop()
        await delete_broker_namespace(broker.url, f"{prefix}.", SERVICE_NAMES)
