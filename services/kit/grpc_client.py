"""gRPC channels between processes and the metadata every call carries."""

from __future__ import annotations

import json
import time
from typing import Any

import grpc

from services.kit.context import (
    SPENT_DEADLINE_SECONDS,
    Caller,
    call_deadline_var,
    client_address_var,
    request_id_var,
)
from services.kit.errors import Unauthenticated

# Long-lived HTTP/2 connections: with `dns:///` names of headless Services, round_robin
# spreads calls across every replica instead of pinning one (the servers end each connection
# after a few minutes, so a client re-resolves and reaches new replicas too).
_SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})

# Every client channel's options (the gateway's too: gateway/backends.py opens its channels
# here). Keepalive matches services/kit/grpc_server.py's SERVER_OPTIONS: a ping every 30 s,
# with or without calls in flight, which the servers accept (they allow one every 20 s).
CHANNEL_OPTIONS: tuple[tuple[str, str | int], ...] = (
    ("grpc.service_config", _SERVICE_CONFIG),
    ("grpc.lb_policy_name", "round_robin"),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 16 << 20),
)


def open_channel(address: str) -> grpc.aio.Channel:
    """Create a channel (inside the running event loop) whose calls end by the deadline of
    the call being served, if any."""
    return grpc.aio.insecure_channel(
        address, options=list(CHANNEL_OPTIONS), interceptors=list(_DEADLINE_INTERCEPTORS)
    )


def within_call_deadline(timeout: float | None) -> float | None:
    """A call's timeout, cut to what is left of the deadline of the call being served:
    a service calling another on its caller's behalf must not outlive it (a spent
    deadline gives a tiny timeout, not none)."""
    deadline = call_deadline_var.get()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), SPENT_DEADLINE_SECONDS)
    return left if timeout is None else min(timeout, left)


def _within_deadline(details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
    timeout = within_call_deadline(details.timeout)
    if timeout == details.timeout:
        return details
    return grpc.aio.ClientCallDetails(
        details.method, timeout, details.metadata, details.credentials, details.wait_for_ready
    )


async def _cut_to_deadline(
    self: object, continuation: Any, details: grpc.aio.ClientCallDetails, request: Any
) -> Any:
    return await continuation(_within_deadline(details), request)


# grpc.aio applies an interceptor to the calls of its own kind only: one of each kind, all
# doing the same.
_DEADLINE_INTERCEPTORS: list[grpc.aio.ClientInterceptor] = [
    type(f"CallDeadline{kind}", (base,), {f"intercept_{kind}": _cut_to_deadline})()
    for kind, base in (
        ("unary_unary", grpc.aio.UnaryUnaryClientInterceptor),
        ("unary_stream", grpc.aio.UnaryStreamClientInterceptor),
        ("stream_unary", grpc.aio.StreamUnaryClientInterceptor),
        ("stream_stream", grpc.aio.StreamStreamClientInterceptor),
    )
]


def call_metadata(authorization: str | None = None) -> tuple[tuple[str, str], ...]:
    """Request id, client address and the caller's credential for a call (the trace's
    `traceparent` is added by the channel's instrumentation, services/kit/tracing.py)."""
    metadata: list[tuple[str, str]] = []
    if request_id := request_id_var.get():
        metadata.append(("x-request-id", request_id))
    if client_address := client_address_var.get():
        metadata.append(("x-client-address", client_address))
    if authorization:
        metadata.append(("authorization", authorization))
    return tuple(metadata)


def caller_metadata(caller: Caller) -> tuple[tuple[str, str], ...]:
    """For a call made on the caller's behalf: the other service checks the caller itself."""
    if not caller.token:
        raise Unauthenticated("a bearer token is needed")
    return call_metadata(f"Bearer {caller.token}")
