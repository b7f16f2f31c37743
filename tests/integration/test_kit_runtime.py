"""services/kit/runtime.py: a service process in-process — health follows the database and
the broker, the relay and the consumer are wired, and stop() is clean."""

from __future__ import annotations

import asyncio
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.identity import main as identity_main
from services.identity.grpc_api import SERVICE_NAMES as IDENTITY_SERVICES
from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.events import new_event
from services.kit.grpc_server import AccessPolicy
from services.kit.runtime import ServiceRuntime
from services.kit.settings import Settings
from tests.support.kit import CONSUMER, Effects, eventually

pytestmark = pytest.mark.integration

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def health_of(port: int, service: str = "") -> int:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        return response.status


async def wait_for_health(port: int, status: int, timeout: float = 15.0) -> float:
    started = time.monotonic()

    async def reached() -> bool:
        return await health_of(port) == status

    await eventually(reached, timeout=timeout, interval=0.1, what=f"health {status}")
    return time.monotonic() - started


async def test_identity_becomes_serving_once_database_and_broker_answer_then_stops(
    settings: Settings,
):
    runtime = await identity_main.start(settings, address="127.0.0.1:0")
    port = runtime.server.port
    try:
        assert await health_of(port) == NOT_SERVING, "not serving before the bring-up"

        await wait_for_health(port, SERVING)

        for name in IDENTITY_SERVICES:
            assert await health_of(port, name) == SERVING
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await health_of(port, "vm.nothing.v1.NoService")
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        assert runtime.relay is not None and runtime.broker is not None
    finally:
        started = time.monotonic()
        await runtime.stop()
        stopped_in = time.monotonic() - started

    assert stopped_in < settings.grpc_grace_seconds, "no call in flight: stop at once"
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await health_of(port)
    assert gone.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_health_stays_serving_when_the_broker_connection_is_gone(settings):
    """No readiness cascade: a service whose broker is away still serves (its events wait
    in the outbox); only its database decides."""
    runtime = await identity_main.start(settings, address="127.0.0.1:0")
    port = runtime.server.port
    try:
        await wait_for_health(port, SERVING)

        await runtime.broker.close()
        assert not runtime.broker.connected.is_set()

        # Through several turns of the readiness loop (one a second), still SERVING.
        window = time.monotonic() + 3.5
        while time.monotonic() < window:
            assert await health_of(port) == SERVING
            await asyncio.sleep(0.25)
    finally:
        await runtime.stop()


def no_tokens_authenticator() -> CallerAuthenticator:
    async def no_keys() -> dict[str, str]:
        return {}

    return CallerAuthenticator(TokenVerifier(no_keys, issuer="i", audience="a"), "op")


async def test_a_runtime_relays_its_outbox_and_applies_the_events_it_consumes(settings):
    """Own events in, own events out: a change written with runtime.transactions and
    runtime.outbox is published by the runtime's relay (woken by the commit) and applied
    once by the runtime's consumer."""
    happened = "vm.test.thing.happened.v1"
    runtime = ServiceRuntime.create(CONSUMER, settings)
    effects = Effects(runtime.db)
    await runtime.start(
        servicers=[],
        service_names=[],
        policy=AccessPolicy(),
        authenticator=no_tokens_authenticator(),
        handlers={happened: effects},
        address="127.0.0.1:0",
    )
    try:
        await runtime.wait_ready(within_seconds=15)
        assert runtime.consumer is not None
        events = [new_event(happened, {"n": n}, source="/test") for n in range(20)]

        for event in events:

            async def change(session, event=event):
                await runtime.db.things.insert_one({"_id": event.data["n"]}, session=session)
                await runtime.outbox.add(session, event)

            await runtime.transactions.run(change)

        async def all_applied() -> bool:
            return await effects.count() == 20

        started = time.monotonic()
        await eventually(all_applied, timeout=10, what="the runtime's events applied")
        # Woken by the commits, not found by the next idle poll (0.5 s apart).
        assert time.monotonic() - started < 5
        assert await effects.rows_per_event() == {e.id: 1 for e in events}
    finally:
        await runtime.stop()


async def test_stop_before_the_bring_up_finished_is_clean(settings):
    runtime = await identity_main.start(settings, address="127.0.0.1:0")
    assert not runtime._ready.is_set()

    await asyncio.wait_for(runtime.stop(), timeout=settings.grpc_grace_seconds)

    assert all(task.done() for task in runtime._tasks), "no background task outlives stop()"


async def test_stop_ends_even_when_a_task_and_the_broker_do_not_close(settings, monkeypatch):
    """A task that will not stop and a broker connection whose close hangs (as while it
    reconnects to a node that is away) are left behind after their bound, told in the log."""
    monkeypatch.setattr("services.kit.runtime.STOP_STEP_SECONDS", 0.5)
    runtime = await identity_main.start(settings, address="127.0.0.1:0")
    await runtime.wait_ready(within_seconds=60)
    release = asyncio.Event()

    async def deaf_to_cancel() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue

    async def hanging_close() -> None:
        await asyncio.Event().wait()

    runtime._tasks.append(asyncio.create_task(deaf_to_cancel()))
    real_close = runtime.broker.close
    monkeypatch.setattr(runtime.broker, "close", hanging_close)
    try:
        await asyncio.wait_for(runtime.stop(), timeout=settings.grpc_grace_seconds + 5)
    finally:
        release.set()
        await real_close()
    assert runtime.server is not None
