"""gRPC server bootstrap shared by every service.

`create_server` builds a `grpc.aio` server with health, reflection and the interceptor
that gives every call its request id and caller, enforces who may call which method, and
maps domain errors to rich statuses. `serve` runs it until SIGTERM/SIGINT, then drains
in-flight calls (graceful stop) before returning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pymongo
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pymongo.errors import ConnectionFailure, PyMongoError

from services.kit.auth import CallerAuthenticator
from services.kit.context import (
    ANONYMOUS,
    SPENT_DEADLINE_SECONDS,
    call_deadline_var,
    caller_var,
    client_address_var,
    new_request_id,
    request_id_var,
)
from services.kit.errors import (
    INTERNAL_STATUS,
    DeadlineExceeded,
    DomainError,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    to_grpc_status,
)
from services.kit.metrics import RPC_SECONDS, RPCS
from services.kit.replays import METADATA_KEY, ReplayJournal

log = logging.getLogger(__name__)
# One line per call, apart from the other logs so that it can be turned down on its own.
access_log = logging.getLogger("vm.access")

_ALWAYS_PUBLIC_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)


@dataclass(frozen=True)
class AccessPolicy:
    """Who may call what, decided before any servicer code runs (default: a company user).

    `public_methods`: full method names callable without credentials (login, registration).
    `operator_services`: full service names only the operator's systems may call.
    `operator_too_methods`: full method names of company-facing services that the
    operator's systems may call as well (the use case tells the two apart).
    `replayable_methods`: full method names that a repeat with the same
    `idempotency-key` metadata answers with the first response instead of running again.
    """

    public_methods: frozenset[str] = field(default_factory=frozenset)
    operator_services: frozenset[str] = field(default_factory=frozenset)
    operator_too_methods: frozenset[str] = field(default_factory=frozenset)
    # Creating methods that honour the `idempotency-key` metadata (services/kit/replays.py).
    replayable_methods: frozenset[str] = field(default_factory=frozenset)

    def audience(self, method: str) -> str:
        service = method.lstrip("/").split("/", 1)[0]
        if service in _ALWAYS_PUBLIC_SERVICES or method in self.public_methods:
            return "public"
        if service in self.operator_services:
            return "operator"
        if method in self.operator_too_methods:
            return "user_or_operator"
        return "user"


def full_methods(service: str, *names: str) -> frozenset[str]:
    """`/package.Service/Method` for each name, as gRPC names a method on the wire."""
    return frozenset(f"/{service}/{name}" for name in names)


# Records a refused call (the full method name and the error) for the audit log; it runs
# in the call's context, so the caller and client address are in services.kit.context.
DenialRecorder = Callable[[str, DomainError], Coroutine[Any, Any, None]]


class CallContextInterceptor(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        authenticator: CallerAuthenticator,
        policy: AccessPolicy,
        on_denied: DenialRecorder | None = None,
        replays: ReplayJournal | None = None,
    ) -> None:
        self._authenticator = authenticator
        self._policy = policy
        self._on_denied = on_denied
        self._replays = replays
        self._recordings: set[asyncio.Task[None]] = set()  # kept until done (no GC mid-way)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        metadata = dict(details.invocation_metadata or ())
        audience = self._policy.audience(details.method)
        prepare = self._preparer(metadata, audience)
        handler = self._replayable(handler, details.method, metadata.get(METADATA_KEY))
        return _wrap_handler(
            handler, prepare, self._denial_notice(details.method, metadata), details.method
        )

    def _replayable(
        self, handler: grpc.RpcMethodHandler, method: str, key: str | bytes | None
    ) -> grpc.RpcMethodHandler:
        """A creating call with an idempotency key runs through the replay journal: the
        handler then answers bytes, the first response's on a repeat."""
        if key is None or self._replays is None or not handler.unary_unary:
            return handler
        if method not in self._policy.replayable_methods:
            return handler
        replays, inner = self._replays, handler.unary_unary
        serialize = handler.response_serializer

        async def replayed(request: Any, context: grpc.aio.ServicerContext) -> bytes:
            async def run() -> bytes:
                response = await inner(request, context)
                return bytes(serialize(response))

            request_bytes = request.SerializeToString(deterministic=True)
            return await replays.run_once(method, str(key), request_bytes, run)

        return grpc.unary_unary_rpc_method_handler(
            replayed, request_deserializer=handler.request_deserializer
        )

    def _denial_notice(
        self, method: str, metadata: dict[str, Any]
    ) -> Callable[[BaseException], None]:
        """Records a refused call in the background: the caller's answer neither waits for
        the record nor depends on it. A call without a credential is not a denial."""
        presented = bool(metadata.get("authorization"))

        def notice(error: BaseException) -> None:
            if self._on_denied is None:
                return
            if not isinstance(error, PermissionDenied | Unauthenticated):
                return
            if isinstance(error, Unauthenticated) and not presented:
                return
            task = asyncio.create_task(self._on_denied(method, error))
            self._recordings.add(task)
            task.add_done_callback(self._recorded)

        return notice

    def _recorded(self, task: asyncio.Task[None]) -> None:
        self._recordings.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a denied call was not recorded", extra={"error": str(task.exception())})

    def _preparer(self, metadata: dict[str, Any], audience: str) -> Callable[[], Awaitable[None]]:
        async def prepare() -> None:
            request_id_var.set(str(metadata.get("x-request-id") or new_request_id()))
            client_address_var.set(str(metadata.get("x-client-address") or ""))
            caller_var.set(ANONYMOUS)  # until proven otherwise; no caller means "the system"
            caller = await self._authenticator.authenticate(metadata.get("authorization"))
            caller_var.set(caller)
            if audience == "operator" and not caller.is_operator:
                raise PermissionDenied("this method is for the operator's systems only")
            if audience == "user_or_operator" and not (caller.is_company or caller.is_operator):
                raise Unauthenticated("a bearer token is needed")
            # A company's API key is a company caller too; its access is its role.
            if audience == "user" and not caller.is_company:
                if caller.is_operator:
                    raise PermissionDenied("this method needs a company user's token")
                raise Unauthenticated("a bearer token is needed")

        return prepare


@contextlib.contextmanager
def bounded_by_deadline(context: grpc.aio.ServicerContext) -> Iterator[None]:
    """The caller's deadline bounds the call's own work: each database command the call
    sends carries the time left as `maxTimeMS` (PyMongo's client-side operation timeout),
    so a read the caller has given up on stops in the database instead of holding it for
    everyone else's calls (on the embedded database one slow read delays every other
    command); a call to another service gets no more than the time left either
    (`call_deadline_var`, services/kit/grpc_client.py). A call without a deadline is not
    bounded."""
    remaining = context.time_remaining()
    if remaining is None:
        yield
        return
    # The work's time runs out a little before the caller's, so that the call ends on
    # its own terms (DEADLINE_EXCEEDED, told in the log) rather than cancelled by gRPC in
    # the middle of a command.
    margin = min(_ANSWER_MARGIN_SECONDS, remaining / 4)
    bound = max(remaining - margin, SPENT_DEADLINE_SECONDS)
    deadline = call_deadline_var.set(time.monotonic() + bound)
    try:
        with pymongo.timeout(bound):
            yield
    finally:
        call_deadline_var.reset(deadline)


# The time kept back from the call's work to answer a call whose deadline it used up.
_ANSWER_MARGIN_SECONDS = 0.1


# A timeout the database raised this near the call's deadline (or after it) is that
# deadline's: `maxTimeMS` is the time left less the margin to answer in. Sooner, it is the
# database's own (no server to select within its timeout): the database is away.
_DEADLINE_SLACK_SECONDS = 0.25


def _deadline_spent(error: BaseException, context: grpc.aio.ServicerContext) -> bool:
    if not (isinstance(error, PyMongoError) and error.timeout):
        return False
    remaining = context.time_remaining()
    return remaining is not None and remaining <= _DEADLINE_SLACK_SECONDS


async def _abort_for(error: BaseException, context: grpc.aio.ServicerContext) -> None:
    if _deadline_spent(error, context):
        log.info("the call's deadline passed in the database", extra={"error": repr(error)[:200]})
        error = DeadlineExceeded("the deadline passed before the database answered")
    elif isinstance(error, ConnectionFailure):
        # The database went away under the call (a lost connection, no server to select):
        # the caller may try again, as with any dependency that did not answer.
        log.warning("the database did not answer", extra={"error": str(error)[:200]})
        error = Unavailable("the database did not answer; try again shortly")
    if isinstance(error, DomainError):
        await context.abort_with_status(to_grpc_status(error))
    if isinstance(error, NotImplementedError):
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this method is not available yet")
    log.exception("unexpected failure", exc_info=error)
    await context.abort_with_status(INTERNAL_STATUS)


def _ignore(error: BaseException) -> None:
    return None


_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


def _status_name(context: grpc.aio.ServicerContext) -> str:
    """The status the call ends with, as its name: OK unless a code was set or aborted with."""
    try:
        code = context.code()
    except Exception:  # an experimental API: never let a metric break a call
        return "UNKNOWN"
    if code is None:
        return "OK"
    if isinstance(code, grpc.StatusCode):
        return code.name
    return _CODE_NAMES.get(code, str(code))


def _observe(method: str, context: grpc.aio.ServicerContext, started: float) -> None:
    """Each call counted, timed and logged (the log line carries the request, trace and
    company ids from the call's context; never a payload or a credential)."""
    seconds = time.perf_counter() - started
    code = _status_name(context)
    RPCS.labels(method, code).inc()
    RPC_SECONDS.labels(method).observe(seconds)
    access_log.info(
        "rpc", extra={"method": method, "code": code, "duration_ms": round(seconds * 1000, 1)}
    )


def _wrap_handler(
    handler: grpc.RpcMethodHandler,
    prepare: Callable[[], Awaitable[None]],
    notice: Callable[[BaseException], None] = _ignore,
    method: str = "",
) -> grpc.RpcMethodHandler:
    """Run `prepare` first and map errors (after showing them to `notice`), for all four
    call shapes, the call's database work bound by its deadline; count each call and its
    time by method and status."""
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary:
        inner_uu = handler.unary_unary

        async def unary_unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                with bounded_by_deadline(context):
                    await prepare()
                    return await inner_uu(request, context)
            except Exception as error:
                if _is_abort(error):
                    raise
                notice(error)
                await _abort_for(error, context)
            finally:
                _observe(method, context, started)

        return grpc.unary_unary_rpc_method_handler(unary_unary, **kwargs)
    if handler.stream_unary:
        inner_su = handler.stream_unary

        async def stream_unary(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                with bounded_by_deadline(context):
                    await prepare()
                    return await inner_su(requests, context)
            except Exception as error:
                if _is_abort(error):
                    raise
                notice(error)
                await _abort_for(error, context)
            finally:
                _observe(method, context, started)

        return grpc.stream_unary_rpc_method_handler(stream_unary, **kwargs)
    inner_stream = handler.unary_stream or handler.stream_stream
    make = (
        grpc.unary_stream_rpc_method_handler
        if handler.unary_stream
        else grpc.stream_stream_rpc_method_handler
    )

    async def streaming(request_or_iterator: Any, context: grpc.aio.ServicerContext) -> Any:
        started = time.perf_counter()
        try:
            with bounded_by_deadline(context):
                await prepare()
                async for response in inner_stream(request_or_iterator, context):
                    yield response
        except Exception as error:
            if _is_abort(error):
                raise
            notice(error)
            await _abort_for(error, context)
        finally:
            _observe(method, context, started)

    return make(streaming, **kwargs)


def _is_abort(error: BaseException) -> bool:
    # context.abort() raises an internal exception that must travel up untouched.
    return type(error).__name__ == "AbortError" or isinstance(error, asyncio.CancelledError)


Registrar = tuple[Callable[[Any, grpc.aio.Server], None], Any]

Rpc = Callable[[Message, grpc.aio.ServicerContext], Awaitable[Message]]


def served_by_successor(
    deprecated: ServiceDescriptor, successor: ServiceDescriptor, servicer: object
) -> dict[str, Rpc]:
    """The RPCs of a deprecated service that moved to `successor` under the same names,
    with messages the same field for field (kept for their clients until the deprecated
    package's next major version), each served by `servicer` (the successor's): the
    request is re-read as the successor's, the answer as the deprecated RPC's. Set them on
    the deprecated service's servicer (its own RPCs stay its own)."""
    moved: dict[str, Rpc] = {}
    for method in deprecated.methods:
        new = successor.methods_by_name.get(method.name)
        if new is None:
            continue
        moved[method.name] = _rewired(
            getattr(servicer, method.name),
            GetMessageClass(new.input_type),
            GetMessageClass(method.output_type),
        )
    return moved


def _rewired(serve: Rpc, request_type: type[Message], answer_type: type[Message]) -> Rpc:
    async def deprecated(request: Message, context: grpc.aio.ServicerContext) -> Message:
        answer = await serve(request_type.FromString(request.SerializeToString()), context)
        return answer_type.FromString(answer.SerializeToString())

    return deprecated


@dataclass
class GrpcServer:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    service_names: tuple[str, ...]

    async def set_serving(self, serving: bool) -> None:
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self.service_names):
            await self.health.set(name, status)

    async def stop(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


# Every server's channel options. Connections are long-lived HTTP/2 and clients balance
# round_robin over the addresses they resolved when they connected, so a server ends each
# connection after max_connection_age (GOAWAY; calls in flight get the grace): clients
# reconnect and re-resolve, and new replicas (a scale-up, a rolling update) get their share
# within minutes. Keepalive finds dead peers; pings from clients (services/kit/grpc_client.py
# pings every 30 s, with or without calls) are accepted down to every 20 s, never answered
# with GOAWAY "too_many_pings".
SERVER_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.so_reuseport", 0),
    ("grpc.max_receive_message_length", 16 << 20),
    ("grpc.max_connection_age_ms", 5 * 60_000),
    ("grpc.max_connection_age_grace_ms", 30_000),
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.http2.min_ping_interval_without_data_ms", 20_000),
    ("grpc.keepalive_permit_without_calls", 1),
)


def create_server(
    address: str,
    servicers: Iterable[Registrar],
    service_names: Iterable[str],
    authenticator: CallerAuthenticator,
    policy: AccessPolicy,
    on_denied: DenialRecorder | None = None,
    replays: ReplayJournal | None = None,
) -> GrpcServer:
    """Build the server and bind `address` (port 0 picks a free one; tests use that)."""
    server = grpc.aio.server(
        interceptors=[CallContextInterceptor(authenticator, policy, on_denied, replays)],
        options=list(SERVER_OPTIONS),
    )
    for add, servicer in servicers:
        add(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = tuple(service_names)
    reflection.enable_server_reflection(
        (*names, reflection.SERVICE_NAME, health.SERVICE_NAME), server
    )
    port = server.add_insecure_port(address)
    if port == 0:
        raise RuntimeError(f"cannot listen on {address}")
    return GrpcServer(server=server, port=port, health=health_servicer, service_names=names)


def install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
