"""Shared fixtures: real servers, started or found once per test session.

- `mongo_server`: a fresh SecantusDB (or VM_TEST_MONGO_URL), one per session;
  every test that touches it gets databases of its own (`settings` has a unique prefix).
- `amqp`: the RabbitMQ at VM_AMQP_URL (started with `rabbitmq-server -detached` if
  installed and not running); each test's exchange and queues carry its own prefix and are
  deleted afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from services.kit.settings import SERVICE_NAMES, Settings
from services.kit.tracing import configure_tracing
from tests.support.servers import (
    MongoServer,
    amqp_url,
    delete_broker_namespace,
    isolated_settings,
    namespace,
    start_mongo,
)

# The test process is traced as every process of the system is (the instrumentations on,
# before any server, channel or client is made; nothing exported unless
# OTEL_EXPORTER_OTLP_ENDPOINT is set): the trace ids in the logs are real ones.
configure_tracing("tests")


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[MongoServer]:
    server = start_mongo()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def amqp() -> str:
    return amqp_url()


@pytest.fixture
async def settings(mongo_server: MongoServer, amqp: str) -> AsyncIterator[Settings]:
    """Settings for one test: its own databases and its own broker namespace."""
    prefix = namespace()
    yield isolated_settings(mongo_server.url, amqp, prefix)
    await delete_broker_namespace(amqp, f"{prefix}.", (*SERVICE_NAMES, "test"))
