"""The gateway's Prometheus metrics and access log: every request counted, timed and logged
by its route template (`/api/v1/numbers/{msisdn}`, never the number itself, so the series
stay few), and `GET /metrics` in Prometheus' text format."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.kit.metrics import HTTP_REQUESTS, HTTP_SECONDS

UNMATCHED = "unmatched"
access_log = logging.getLogger("vm.access")  # no route: one series for every path nobody serves


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before it starts a response

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            # The router writes the route it matched into the scope.
            route = getattr(scope.get("route"), "path", UNMATCHED)
            seconds = time.perf_counter() - started
            HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            HTTP_SECONDS.labels(scope["method"], route).observe(seconds)
            # The access log: the route template, never the path's ids, query or body.
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )


def install_metrics(app: FastAPI) -> None:
    app.add_middleware(RequestMetricsMiddleware)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        """Prometheus metrics of this gateway process."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
