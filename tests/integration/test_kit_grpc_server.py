"""services/kit/grpc_server.py: the interceptor of every service — who may call what, the
request context, and domain errors as rich statuses. Against identity running in this
process, and against a small probe service built with the same `create_server`."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator

import grpc
import jwt
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from pymongo.errors import AutoReconnect

from services.kit.auth import CallerAuthenticator, TokenVerifier
from services.kit.context import caller_var, request_id_var, trace_id
from services.kit.errors import NotFound, RateLimited, read_remote_error
from services.kit.grpc_server import AccessPolicy, create_server
from services.kit.settings import Settings
from services.kit.tracing import within
from tests.support.kit import Tap, eventually, outbox_events
from tests.support.logs import JsonLines
from tests.support.requisites import random_inn
from vm.identity.v1 import (
    companies_pb2,
    companies_pb2_grpc,
    profile_pb2,
    profile_pb2_grpc,
    trust_pb2,
    trust_pb2_grpc,
)

pytestmark = pytest.mark.integration

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


# ---------------------------------------------------------------- identity, in-process


@pytest.fixture
def profile(channel) -> profile_pb2_grpc.ProfileServiceStub:
    """A company user's service (the default audience)."""
    return profile_pb2_grpc.ProfileServiceStub(channel)


@pytest.fixture
def operator(channel) -> companies_pb2_grpc.CompanyServiceStub:
    """The operator's service."""
    return companies_pb2_grpc.CompanyServiceStub(channel)


def as_operator(settings: Settings) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Operator {settings.operator_token.get_secret_value()}"),)


async def user_token(identity, settings: Settings, **claims) -> str:
    """A token signed with identity's own active key (read from its database)."""
    key = await identity.db["signing_keys"].find_one({"slot": "active"})
    now = int(time.time())
    payload = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "usr_nobody",
        "cid": "cmp_nobody",
        "sid": "ses_nobody",
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    return jwt.encode(payload, key["private_pem"], algorithm="EdDSA", headers={"kid": key["_id"]})


def new_company_request(**overrides) -> companies_pb2.CreateCompanyRequest:
    suffix = f"{secrets.randbelow(10**9):09d}"
    fields = {
        "name": f'ООО "Проба {suffix}"',
        "inn": random_inn(),
        "contract_number": f"K-{suffix}",
        "main_number": f"+7 (9{suffix[:2]}) {suffix[2:5]}-{suffix[5:7]}-{suffix[7:]}",
        "contact_email": f"admin{suffix}@kit.example",
    }
    fields.update(overrides)
    return companies_pb2.CreateCompanyRequest(**fields)


async def remote_error(call) -> object:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    return read_remote_error(raised.value)


async def test_a_user_method_without_a_token_is_unauthenticated(profile):
    error = await remote_error(profile.GetMe(profile_pb2.GetMeRequest()))

    assert error.code == grpc.StatusCode.UNAUTHENTICATED
    assert error.reason == "UNAUTHENTICATED"
    assert error.from_service


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer", "Operator wrong"],
)
async def test_a_user_method_with_a_bad_credential_is_unauthenticated(profile, authorization):
    error = await remote_error(
        profile.GetMe(profile_pb2.GetMeRequest(), metadata=(("authorization", authorization),))
    )
    assert (error.code, error.reason) == (grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED")


async def test_a_token_for_another_audience_is_unauthenticated(identity, profile, module_settings):
    token = await user_token(identity, module_settings, aud="someone-else")

    error = await remote_error(
        profile.GetMe(profile_pb2.GetMeRequest(), metadata=(("authorization", f"Bearer {token}"),))
    )

    assert error.code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_valid_token_passes_the_interceptor(identity, profile, module_settings):
    token = await user_token(identity, module_settings)

    error = await remote_error(
        profile.GetMe(profile_pb2.GetMeRequest(), metadata=(("authorization", f"Bearer {token}"),))
    )

    # Identity itself answered (the token was good; its user and session do not exist),
    # not the interceptor, whose refusals speak of the token or the header.
    assert error.code == grpc.StatusCode.UNAUTHENTICATED
    assert "access token" not in error.message
    assert "bearer" not in error.message.lower()


async def test_a_user_method_refuses_the_operator(profile, module_settings):
    error = await remote_error(
        profile.GetMe(profile_pb2.GetMeRequest(), metadata=as_operator(module_settings))
    )

    assert (error.code, error.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")


async def test_an_operator_method_without_credentials_is_refused(operator):
    error = await remote_error(operator.CreateCompany(new_company_request()))

    assert error.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
    assert error.from_service


async def test_an_operator_method_refuses_a_company_user(identity, operator, module_settings):
    token = await user_token(identity, module_settings)

    error = await remote_error(
        operator.CreateCompany(
            new_company_request(), metadata=(("authorization", f"Bearer {token}"),)
        )
    )

    assert (error.code, error.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")


async def test_an_operator_method_with_a_wrong_operator_credential_is_unauthenticated(operator):
    error = await remote_error(
        operator.CreateCompany(
            new_company_request(), metadata=(("authorization", "Operator not-the-token"),)
        )
    )

    assert error.code == grpc.StatusCode.UNAUTHENTICATED


async def test_invalid_input_is_invalid_argument_with_the_fields(operator, module_settings):
    request = new_company_request(name="  ", inn="12", main_number="+7 495 123-45-67")

    error = await remote_error(
        operator.CreateCompany(request, metadata=as_operator(module_settings))
    )

    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.reason == "VALIDATION_FAILED"
    assert error.from_service
    assert set(error.fields) == {"name", "inn", "main_number"}
    assert all(error.fields.values())


async def test_a_duplicate_company_is_already_exists_with_conflict(operator, module_settings):
    request = new_company_request()
    created = await operator.CreateCompany(request, metadata=as_operator(module_settings))
    again = new_company_request(inn=request.inn)

    error = await remote_error(operator.CreateCompany(again, metadata=as_operator(module_settings)))

    assert created.company.inn == request.inn
    assert (error.code, error.reason) == (grpc.StatusCode.ALREADY_EXISTS, "CONFLICT")
    assert error.from_service


async def test_a_created_company_is_published_with_the_callers_trace(
    identity, operator, module_settings
):
    tap = Tap()
    await tap.start(identity.broker, module_settings.events_exchange)
    try:
        # The caller's trace, sent by the channel's instrumentation as `traceparent`.
        with within(TRACEPARENT):
            created = await operator.CreateCompany(
                new_company_request(), metadata=as_operator(module_settings)
            )
        company_id = created.company.id
        [event] = [
            e
            for e in await outbox_events(identity.db, {"type": "vm.identity.company.created.v1"})
            if e.company_id == company_id
        ]

        await eventually(lambda: event.id in tap.seen, timeout=10, what="the event published")
    finally:
        await tap.close()

    assert event.company_id == company_id
    # In the caller's trace, from a span of the call's own (a child of the caller's).
    _, trace, caller_span, _ = TRACEPARENT.split("-")
    assert event.traceparent.split("-")[1] == trace
    assert event.traceparent.split("-")[2] != caller_span
    assert event.data["company_id"] == company_id


async def test_public_methods_and_health_need_no_credentials(profile, channel):
    keys = await trust_pb2_grpc.TrustServiceStub(channel).GetSigningKeys(
        trust_pb2.GetSigningKeysRequest()
    )
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())

    assert keys.keys and all(k.alg == "EdDSA" and k.public_key_pem for k in keys.keys)
    assert health.status == health_pb2.HealthCheckResponse.SERVING


async def test_an_unknown_method_is_unimplemented(channel):
    call = channel.unary_unary("/vm.identity.v1.IdentityService/NoSuchMethod")
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(b"")
    assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED


# ---------------------------------------------------------------- a probe service

PROBE = "test.v1.Probe"
PROBE_OPS = "test.v1.ProbeOps"
PROBE_OPERATOR_TOKEN = "probe-operator-token"
probe_log = logging.getLogger("tests.kit.probe")


def context_now() -> bytes:
    caller = caller_var.get()
    probe_log.warning("probe called")
    return json.dumps(
        {
            "request_id": request_id_var.get(),
            "trace_id": trace_id(),
            "kind": caller.kind,
            "company_id": caller.company_id,
        }
    ).encode()


async def whoami(request: bytes, context) -> bytes:
    return context_now()


async def slow(request: bytes, context) -> bytes:
    await asyncio.sleep(float(request or b"0.3"))
    return context_now()


async def crash(request: bytes, context) -> bytes:
    raise RuntimeError("secret internal detail: mongodb://admin:pw@db")


async def database_lost(request: bytes, context) -> bytes:
    raise AutoReconnect("127.0.0.1:27017: connection closed")


async def limited(request: bytes, context) -> bytes:
    raise RateLimited("too many requests", retry_after_seconds=30)


async def aborts(request: bytes, context) -> bytes:
    await context.abort(grpc.StatusCode.OUT_OF_RANGE, "the servicer aborted itself")


async def stream_then_fail(request: bytes, context):
    yield b"one"
    yield b"two"
    raise NotFound("no third one")


async def collect(requests, context) -> bytes:
    return b"+".join([r async for r in requests])


async def chat(requests, context):
    async for request in requests:
        yield request.upper()


def add_probe(handlers: dict, server: grpc.aio.Server) -> None:
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(PROBE, handlers),))


def add_probe_ops(handlers: dict, server: grpc.aio.Server) -> None:
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(PROBE_OPS, handlers),))


PROBE_HANDLERS = {
    "Whoami": grpc.unary_unary_rpc_method_handler(whoami),
    "Public": grpc.unary_unary_rpc_method_handler(whoami),
    "Slow": grpc.unary_unary_rpc_method_handler(slow),
    "Crash": grpc.unary_unary_rpc_method_handler(crash),
    "DatabaseLost": grpc.unary_unary_rpc_method_handler(database_lost),
    "Limited": grpc.unary_unary_rpc_method_handler(limited),
    "Abort": grpc.unary_unary_rpc_method_handler(aborts),
    "Stream": grpc.unary_stream_rpc_method_handler(stream_then_fail),
    "Collect": grpc.stream_unary_rpc_method_handler(collect),
    "Chat": grpc.stream_stream_rpc_method_handler(chat),
}


@pytest.fixture(scope="module")
def probe_key():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate()


def probe_token(key, **claims) -> str:
    now = int(time.time())
    payload = {"iss": "probe", "aud": "vm", "sub": "usr_p", "cid": "cmp_p", "sid": "ses_p"}
    payload.update({"iat": now, "exp": now + 300, **claims})
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": "probe-key"})


@pytest.fixture
async def probe(probe_key):
    from cryptography.hazmat.primitives import serialization

    pem = (
        probe_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )

    async def keys() -> dict[str, str]:
        return {"probe-key": pem}

    server = create_server(
        "127.0.0.1:0",
        [(add_probe, PROBE_HANDLERS), (add_probe_ops, {"Whoami": PROBE_HANDLERS["Whoami"]})],
        [PROBE, PROBE_OPS],
        CallerAuthenticator(
            TokenVerifier(keys, issuer="probe", audience="vm"), PROBE_OPERATOR_TOKEN
        ),
        AccessPolicy(
            public_methods=frozenset({f"/{PROBE}/Public"}),
            operator_services=frozenset({PROBE_OPS}),
        ),
    )
    await server.server.start()
    await server.set_serving(True)
    yield server
    await server.stop(0)


@pytest.fixture
async def probe_channel(probe) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{probe.port}") as opened:
        yield opened


@pytest.fixture
def user_metadata(probe_key) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {probe_token(probe_key)}"),)


@pytest.fixture
def json_logs():
    handler = JsonLines()
    probe_log.addHandler(handler)
    grpc_server_log = logging.getLogger("services.kit.grpc_server")
    grpc_server_log.addHandler(handler)
    yield handler.lines
    probe_log.removeHandler(handler)
    grpc_server_log.removeHandler(handler)


async def call(channel, method: str, request: bytes = b"", **kwargs) -> bytes:
    return await channel.unary_unary(method)(request, timeout=10, **kwargs)


async def test_the_request_id_and_trace_sent_are_the_calls_context_and_in_its_logs(
    probe_channel, user_metadata, json_logs
):
    metadata = (*user_metadata, ("x-request-id", "req-from-gateway-42"))

    # The caller's trace, sent by the channel's instrumentation as `traceparent`.
    with within(TRACEPARENT):
        seen = json.loads(await call(probe_channel, f"/{PROBE}/Whoami", metadata=metadata))

    assert seen == {
        "request_id": "req-from-gateway-42",
        "trace_id": TRACEPARENT.split("-")[1],
        "kind": "user",
        "company_id": "cmp_p",
    }
    [line] = [line for line in json_logs if line["msg"] == "probe called"]
    assert line["request_id"] == "req-from-gateway-42"
    assert line["trace_id"] == TRACEPARENT.split("-")[1]
    assert line["company_id"] == "cmp_p"


async def test_without_a_request_id_each_call_gets_a_fresh_one(probe_channel):
    first = json.loads(await call(probe_channel, f"/{PROBE}/Public"))
    second = json.loads(await call(probe_channel, f"/{PROBE}/Public"))

    assert first["request_id"] and second["request_id"]
    assert first["request_id"] != second["request_id"]
    assert first["kind"] == "anonymous"
    # Each call without a trace is the start of one of its own.
    assert first["trace_id"] and second["trace_id"] and first["trace_id"] != second["trace_id"]


async def test_concurrent_calls_each_keep_their_own_context(probe_channel, user_metadata):
    async def one(i: int) -> dict:
        metadata = (*user_metadata, ("x-request-id", f"req-{i}"))
        return json.loads(await call(probe_channel, f"/{PROBE}/Slow", b"0.05", metadata=metadata))

    results = await asyncio.gather(*(one(i) for i in range(20)))

    assert [r["request_id"] for r in results] == [f"req-{i}" for i in range(20)]


async def test_the_policy_decides_who_may_call_each_method(probe_channel, probe_key, user_metadata):
    operator_md = (("authorization", f"Operator {PROBE_OPERATOR_TOKEN}"),)
    user = f"/{PROBE}/Whoami"
    ops = f"/{PROBE_OPS}/Whoami"

    assert json.loads(await call(probe_channel, user, metadata=user_metadata))["kind"] == "user"
    assert json.loads(await call(probe_channel, ops, metadata=operator_md))["kind"] == "operator"
    refused = {
        "user method, nobody": (user, ()),
        "user method, operator": (user, operator_md),
        "operator method, nobody": (ops, ()),
        "operator method, user": (ops, user_metadata),
        "user method, expired": (
            user,
            (("authorization", f"Bearer {probe_token(probe_key, exp=int(time.time()) - 60)}"),),
        ),
    }
    codes = {}
    for case, (method, metadata) in refused.items():
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call(probe_channel, method, metadata=metadata)
        codes[case] = raised.value.code()

    assert codes["user method, nobody"] == grpc.StatusCode.UNAUTHENTICATED
    assert codes["user method, operator"] == grpc.StatusCode.PERMISSION_DENIED
    assert codes["operator method, nobody"] in (
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
    )
    assert codes["operator method, user"] == grpc.StatusCode.PERMISSION_DENIED
    assert codes["user method, expired"] == grpc.StatusCode.UNAUTHENTICATED


async def test_an_unexpected_failure_is_internal_and_reveals_nothing(
    probe_channel, user_metadata, json_logs
):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(probe_channel, f"/{PROBE}/Crash", metadata=user_metadata)

    error = read_remote_error(raised.value)
    assert (error.code, error.reason, error.message) == (
        grpc.StatusCode.INTERNAL,
        "INTERNAL",
        "internal error",
    )
    assert "secret" not in (raised.value.details() or "")
    assert "secret" not in str(raised.value.trailing_metadata())
    [logged] = [line for line in json_logs if line["msg"] == "unexpected failure"]
    assert "secret internal detail" in logged["exc"]  # for the operators, in the logs


async def test_a_database_that_went_away_is_unavailable_not_internal(probe_channel, user_metadata):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(probe_channel, f"/{PROBE}/DatabaseLost", metadata=user_metadata)

    error = read_remote_error(raised.value)
    assert (error.code, error.reason) == (grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE")
    assert "27017" not in (raised.value.details() or "")


async def test_a_domain_error_keeps_its_details(probe_channel, user_metadata):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(probe_channel, f"/{PROBE}/Limited", metadata=user_metadata)

    error = read_remote_error(raised.value)
    assert (error.code, error.reason, error.retry_after_seconds) == (
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "RATE_LIMITED",
        30,
    )


async def test_a_servicer_abort_travels_untouched(probe_channel, user_metadata):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(probe_channel, f"/{PROBE}/Abort", metadata=user_metadata)

    assert raised.value.code() == grpc.StatusCode.OUT_OF_RANGE
    assert raised.value.details() == "the servicer aborted itself"


async def test_a_server_stream_gives_its_messages_then_the_domain_error(
    probe_channel, user_metadata
):
    stream = probe_channel.unary_stream(f"/{PROBE}/Stream")(b"", metadata=user_metadata)
    received: list[bytes] = []

    async def read_all() -> None:
        async for message in stream:
            received.append(message)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await read_all()

    assert received == [b"one", b"two"]
    error = read_remote_error(raised.value)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")


async def test_streaming_calls_are_checked_too(probe_channel, user_metadata):
    async def requests():
        for word in (b"a", b"b", b"c"):
            yield word

    collected = await probe_channel.stream_unary(f"/{PROBE}/Collect")(
        requests(), metadata=user_metadata
    )
    chatted = [
        m
        async for m in probe_channel.stream_stream(f"/{PROBE}/Chat")(
            requests(), metadata=user_metadata
        )
    ]
    assert (collected, chatted) == (b"a+b+c", [b"A", b"B", b"C"])

    async def nothing_yet():
        # Sends nothing: the refusal must come before the server reads any request (and
        # the client does not race a write against the closed call).
        await asyncio.Event().wait()
        yield b""

    with pytest.raises(grpc.aio.AioRpcError) as refused_collect:
        await probe_channel.stream_unary(f"/{PROBE}/Collect")(nothing_yet(), timeout=5)
    with pytest.raises(grpc.aio.AioRpcError) as refused_chat:
        async for _ in probe_channel.stream_stream(f"/{PROBE}/Chat")(nothing_yet(), timeout=5):
            pass

    assert refused_collect.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert refused_chat.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_a_graceful_stop_lets_calls_in_flight_finish(probe, probe_channel, user_metadata):
    health = health_pb2_grpc.HealthStub(probe_channel)
    in_flight = asyncio.create_task(
        call(probe_channel, f"/{PROBE}/Slow", b"0.5", metadata=user_metadata)
    )
    await asyncio.sleep(0.1)

    stopping = asyncio.create_task(probe.stop(5))
    await asyncio.sleep(0.1)
    finished = json.loads(await in_flight)
    await asyncio.wait_for(stopping, timeout=5)

    assert finished["kind"] == "user"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
