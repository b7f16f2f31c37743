"""services/kit/grpc_server.py: a call's deadline bounds its database work. Each command
a call sends carries the time left (`maxTimeMS`), so a read its caller has given up on
stops in the database instead of holding it for every other call; a call without a
deadline is not bounded; a read the deadline cut short ends the call DEADLINE_EXCEEDED,
not as a database gone away or an internal error; a call the probe makes to another service
gets no more than the time left. A probe service built with the same
`create_server`, against the real embedded database."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from pymongo import AsyncMongoClient, monitoring

from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.grpc_client import open_channel
from services.kit.grpc_server import AccessPolicy, create_server
from tests.support.kit import eventually
from tests.support.logs import JsonLines
from tests.support.servers import MongoServer, namespace

pytestmark = pytest.mark.integration

SERVICE = "test.v1.Deadlines"
OPERATOR_TOKEN = "deadlines-operator-token"
AS_OPERATOR = (("authorization", f"Operator {OPERATOR_TOKEN}"),)
# Enough documents that reading and sorting them all takes the embedded database far
# longer than the short deadline below (about 1 s here against 0.5 s).
MANY = 20_000
SHORT_DEADLINE = 0.5
# The database is given the call's time less a margin, to answer in (a tenth of a second
# at most, a quarter of a short call's time).
MARGIN_MS = 100
SLACK_MS = 50


class SentFinds(monitoring.CommandListener):
    """The `find` commands the probe's client sent, and how each ended."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.cut: list[monitoring.CommandFailedEvent] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.sent.append(dict(event.command))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        return None

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        if event.command_name == "find":
            self.cut.append(event)


@pytest.fixture
def finds() -> SentFinds:
    return SentFinds()


@pytest.fixture
async def numbers(mongo_server: MongoServer, finds: SentFinds) -> AsyncIterator[Any]:
    client: AsyncMongoClient = AsyncMongoClient(mongo_server.url, event_listeners=[finds])
    yield client[f"{namespace()}_catalog"]["numbers"]
    await client.close()


class Downstream:
    """Another service the probe calls: it tells the time left that each call came with."""

    def __init__(self) -> None:
        self.time_left: list[float | None] = []
        self.address = ""

    async def tell(self, request: bytes, context) -> bytes:
        self.time_left.append(context.time_remaining())
        return b"{}"


@pytest.fixture
async def downstream() -> AsyncIterator[Downstream]:
    told = Downstream()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "test.v1.Downstream", {"Tell": grpc.unary_unary_rpc_method_handler(told.tell)}
            ),
        )
    )
    told.address = f"127.0.0.1:{server.add_insecure_port('127.0.0.1:0')}"
    await server.start()
    yield told
    await server.stop(0)


@pytest.fixture
async def channel(numbers, downstream) -> AsyncIterator[grpc.aio.Channel]:
    onward = open_channel(downstream.address)

    async def read_one(request: bytes, context) -> bytes:
        await numbers.find_one({})
        return b"{}"

    async def call_onward(request: bytes, context) -> bytes:
        # As the services' peers do: a timeout of its own, longer than the caller's.
        await onward.unary_unary("/test.v1.Downstream/Tell")(b"", timeout=30)
        return b"{}"

    async def read_all_sorted(request: bytes, context) -> bytes:
        found = await numbers.find({"n": {"$gte": 0}}).sort("order", 1).limit(10).to_list()
        return json.dumps(len(found)).encode()

    async def keys() -> dict[str, str]:
        return {}

    handlers = {
        "ReadOne": grpc.unary_unary_rpc_method_handler(read_one),
        "ReadAllSorted": grpc.unary_unary_rpc_method_handler(read_all_sorted),
        "CallOnward": grpc.unary_unary_rpc_method_handler(call_onward),
    }
    server = create_server(
        "127.0.0.1:0",
        [
            (
                lambda h, s: s.add_generic_rpc_handlers(
                    (grpc.method_handlers_generic_handler(SERVICE, h),)
                ),
                handlers,
            )
        ],
        [SERVICE],
        CallerAuthenticator(TokenVerifier(keys, issuer="probe", audience="vm"), OPERATOR_TOKEN),
        AccessPolicy(operator_services=frozenset({SERVICE})),
    )
    await server.server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as opened:
        yield opened
    await server.stop(0)
    await onward.close()


@pytest.fixture
def server_logs() -> AsyncIterator[list[dict[str, Any]]]:
    handler = JsonLines()
    loggers = [logging.getLogger(name) for name in ("services.kit.grpc_server", "vm.access")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.addHandler(handler)
        each.setLevel(logging.INFO)
    yield handler.lines
    for each, level in zip(loggers, levels, strict=True):
        each.removeHandler(handler)
        each.setLevel(level)


async def test_each_command_carries_the_time_left_before_the_calls_deadline(channel, finds):
    await channel.unary_unary(f"/{SERVICE}/ReadOne")(b"", timeout=5, metadata=AS_OPERATOR)
    await channel.unary_unary(f"/{SERVICE}/ReadOne")(b"", metadata=AS_OPERATOR)

    bounded, unbounded = finds.sent
    # The server's view of the deadline may run a few milliseconds past the client's.
    assert 4_000 < bounded["maxTimeMS"] <= 5_000 - MARGIN_MS + SLACK_MS
    assert "maxTimeMS" not in unbounded


async def test_a_read_the_caller_gave_up_on_is_stopped_and_ends_deadline_exceeded(
    channel, numbers, finds, server_logs
):
    await numbers.insert_many(
        [{"n": n, "order": (n * 7919) % MANY, "pad": "x" * 500} for n in range(MANY)]
    )
    read = channel.unary_unary(f"/{SERVICE}/ReadAllSorted")
    assert json.loads(await read(b"", timeout=30, metadata=AS_OPERATOR)) == 10

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await read(b"", timeout=SHORT_DEADLINE, metadata=AS_OPERATOR)

    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    # The database was told to stop before the caller's time ran out, and it was cut
    # there: the call ended itself rather than being cancelled under the command.
    cut = finds.sent[-1]
    assert 0 < cut["maxTimeMS"] <= SHORT_DEADLINE * 1000 - MARGIN_MS + SLACK_MS
    await eventually(lambda: len(finds.cut) == 1, what="the cut read's failure")
    assert finds.cut[0].duration_micros < 1_000_000

    def ended() -> list[str]:
        return [line.get("code", "") for line in server_logs if line["msg"] == "rpc"]

    await eventually(lambda: len(ended()) == 2, what="the server's access log of both calls")
    assert ended() == ["OK", "DEADLINE_EXCEEDED"]
    messages = {line["msg"] for line in server_logs}
    assert "unexpected failure" not in messages
    assert "the database did not answer" not in messages


async def test_a_call_to_another_service_gets_no_more_than_the_time_left(channel, downstream):
    onward = channel.unary_unary(f"/{SERVICE}/CallOnward")
    await onward(b"", timeout=2, metadata=AS_OPERATOR)
    await onward(b"", metadata=AS_OPERATOR)

    bounded, unbounded = downstream.time_left
    # The caller's 2 s less the margin kept to answer in, not the 30 s the probe asked for.
    assert bounded is not None
    assert 1.0 < bounded <= 2 - MARGIN_MS / 1000 + SLACK_MS / 1000
    # Without a deadline of its own the probe's call keeps its own timeout (as the
    # downstream server sees it: a little more, or less).
    assert unbounded is not None
    assert 29 < unbounded < 31
