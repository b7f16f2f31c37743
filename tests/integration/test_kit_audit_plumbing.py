"""What the audit log is collected with, against the real RabbitMQ and MongoDB-protocol
server: a consumer handler bound to a topic pattern (`vm.#`) gets every event, and a
service records each refused call as `vm.<service>.request.denied.v1` through its outbox
without the caller's answer depending on it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.broker import EventPublisher
from services.kit.errors import DomainError, NotFound, PermissionDenied
from services.kit.events import Event, decode_event, encode_event, new_event
from services.kit.grpc_server import AccessPolicy, create_server
from services.kit.outbox import OUTBOX
from services.kit.runtime import ServiceRuntime
from services.kit.settings import Settings
from tests.support.kit import eventually, make_consumer

pytestmark = pytest.mark.integration

# ---------------------------------------------------------------- a pattern handler


class Seen:
    """A handler that notes which events it was given."""

    def __init__(self) -> None:
        self.types: list[str] = []

    async def __call__(self, event: Event, session: AsyncClientSession) -> None:
        self.types.append(event.type)


EVERY_KIND = [
    "vm.identity.user.created.v1",
    "vm.catalog.number.moved.v1",
    "vm.billing.payment.received.v1",
    "vm.documents.operation.updated.v1",
    "vm.tickets.request.denied.v1",
]


async def test_a_handler_under_a_pattern_gets_every_type_and_an_exact_one_keeps_its_own(
    settings, clients
):
    every, own = Seen(), Seen()
    consumer = make_consumer(settings, clients, {"vm.#": every, "vm.identity.role.created.v1": own})
    await consumer.start()
    publisher = EventPublisher(clients.broker, settings.events_exchange)
    await publisher.start()
    events = [
        new_event(t, {"n": n}, source="/test", company_id="cmp_1")
        for n, t in enumerate([*EVERY_KIND, "vm.identity.role.created.v1"])
    ]

    for event in events:
        await publisher.publish(event.id, event.type, encode_event(event))
    await eventually(lambda: len(every.types) + len(own.types) == len(events), what="all events")

    assert sorted(every.types) == sorted(EVERY_KIND)
    assert own.types == ["vm.identity.role.created.v1"]
    # each event was applied once, although the queue is bound by a pattern and a type
    assert await clients.db["processed_events"].count_documents({}) == len(events)


# ---------------------------------------------------------------- refused calls

PROBE = "vm.probe.v1.Probe"
OPERATOR_TOKEN = "probe-operator-token"


async def forbidden(request: bytes, context) -> bytes:
    raise PermissionDenied("you do not have the permission 'probe.use' here")


async def missing(request: bytes, context) -> bytes:
    raise NotFound("no such thing")


async def fine(request: bytes, context) -> bytes:
    return b"ok"


HANDLERS = {
    "Forbidden": grpc.unary_unary_rpc_method_handler(forbidden),
    "Missing": grpc.unary_unary_rpc_method_handler(missing),
    "Fine": grpc.unary_unary_rpc_method_handler(fine),
}


def add_probe(handlers: dict, server: grpc.aio.Server) -> None:
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(PROBE, handlers),))


@pytest.fixture(scope="module")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def authenticator(key: Ed25519PrivateKey) -> CallerAuthenticator:
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )

    async def keys() -> dict[str, str]:
        return {"probe-key": pem}

    return CallerAuthenticator(TokenVerifier(keys, issuer="probe", audience="vm"), OPERATOR_TOKEN)


def user_token(key: Ed25519PrivateKey) -> str:
    now = int(time.time())
    claims = {
        "iss": "probe",
        "aud": "vm",
        "sub": "usr_p",
        "cid": "cmp_p",
        "sid": "ses_p",
        "iat": now,
        "exp": now + 300,
    }
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": "probe-key"})


async def call(port: int, method: str, authorization: str | None = None) -> grpc.StatusCode:
    metadata = [("x-client-address", "203.0.113.9")]
    if authorization:
        metadata.append(("authorization", authorization))
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = channel.unary_unary(f"/{PROBE}/{method}")
        try:
            await stub(b"", metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


# The probe service runs as one of ours: its denials are `vm.tickets.request.denied.v1`, an
# event type the protos register (a made-up service's would be refused).
SERVICE = "tickets"


@pytest.fixture
async def service(settings: Settings, signing_key) -> AsyncIterator[ServiceRuntime]:
    runtime = ServiceRuntime.create(SERVICE, settings)
    await runtime.start(
        servicers=[(add_probe, HANDLERS)],
        service_names=[PROBE],
        policy=AccessPolicy(),
        authenticator=authenticator(signing_key),
        address="127.0.0.1:0",
    )
    await runtime.wait_ready(within_seconds=20)
    yield runtime
    await runtime.stop()


async def denials(runtime: ServiceRuntime) -> list[tuple[Event, bool]]:
    """Each denied-request event in the service's outbox, and whether the relay sent it."""
    cursor = runtime.db[OUTBOX].find({"type": f"vm.{SERVICE}.request.denied.v1"})
    return [(decode_event(d["body"]), d["sent_at"] is not None) async for d in cursor]


async def test_a_refused_call_is_recorded_with_who_what_why_and_from_where(service, signing_key):
    port = service.server.port

    code = await call(port, "Forbidden", f"Bearer {user_token(signing_key)}")

    assert code == grpc.StatusCode.PERMISSION_DENIED

    async def published() -> bool:
        found = await denials(service)
        return len(found) == 1 and found[0][1]

    await eventually(published, timeout=10, what="the denial recorded and published")
    [(event, _)] = await denials(service)
    assert (event.actor, event.actor_kind, event.company_id) == ("usr_p", "user", "cmp_p")
    assert event.subject == f"/{PROBE}/Forbidden"
    assert event.source == f"/services/{SERVICE}"
    assert event.data == {
        "method": f"/{PROBE}/Forbidden",
        "reason": "PERMISSION_DENIED",
        "detail": "you do not have the permission 'probe.use' here",
        "caller": "usr_p",
        "client_address": "203.0.113.9",
    }


async def test_a_refused_credential_is_recorded_but_a_missing_one_and_other_errors_not(
    service, signing_key
):
    port = service.server.port

    assert await call(port, "Fine") == grpc.StatusCode.UNAUTHENTICATED
    assert await call(port, "Missing", f"Bearer {user_token(signing_key)}") == (
        grpc.StatusCode.NOT_FOUND
    )
    assert await call(port, "Fine", "Bearer not.a.token") == grpc.StatusCode.UNAUTHENTICATED

    await eventually(lambda: _count(service, 1), timeout=10, what="one denial")
    await asyncio.sleep(0.3)  # nothing else comes in late
    [(event, _)] = await denials(service)
    assert event.data["reason"] == "UNAUTHENTICATED"
    assert (event.actor, event.actor_kind, event.company_id) == ("anonymous", "anonymous", None)


async def _count(runtime: ServiceRuntime, expected: int) -> bool:
    return len(await denials(runtime)) == expected


@pytest.mark.parametrize("failure", ["raises", "hangs"])
async def test_a_recorder_that_fails_or_hangs_changes_nothing_for_the_caller(signing_key, failure):
    attempts: list[str] = []
    release = asyncio.Event()

    async def recorder(method: str, error: DomainError) -> None:
        attempts.append(method)
        if failure == "raises":
            raise RuntimeError("the database is away")
        await release.wait()  # a database that does not answer

    server = create_server(
        "127.0.0.1:0",
        [(add_probe, HANDLERS)],
        [PROBE],
        authenticator(signing_key),
        AccessPolicy(),
        recorder,
    )
    await server.server.start()
    try:
        started = time.monotonic()
        code = await call(server.port, "Forbidden", f"Bearer {user_token(signing_key)}")
        took = time.monotonic() - started
    finally:
        release.set()
        await server.stop(0)

    assert code == grpc.StatusCode.PERMISSION_DENIED
    assert took < 2
    assert attempts == [f"/{PROBE}/Forbidden"]
