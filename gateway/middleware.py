"""Request context for every HTTP request: a request id (echoed as `X-Request-Id`) and the
client's address, both carried into the gRPC calls it makes. The trace (an incoming W3C
`traceparent` continued, or a new one) is the FastAPI instrumentation's server span
(services/kit/tracing.py), and goes on in the calls' metadata by the channels' own."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.context import (
    client_address_var,
    new_request_id,
    request_id_var,
)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _REQUEST_ID.match(given) else new_request_id()
        request_id_var.set(request_id)
        # The socket's peer, or, when the peer is a proxy VM_FORWARDED_ALLOW_IPS names, the
        # client X-Forwarded-For names (uvicorn's proxy headers put it here).
        client = scope.get("client")
        client_address_var.set(client[0] if client else "")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)
