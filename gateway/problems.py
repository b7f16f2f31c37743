"""Every error the gateway answers is RFC 9457 problem+json with a stable `code`.

gRPC statuses from the services are mapped here, once: the `ErrorInfo.reason` of the
status becomes the `code` when it is one of API.md's codes, otherwise the status decides.
FastAPI's own validation errors, unknown routes and unexpected failures get the same
shape; a stack trace never leaves the process.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import RouteContext, iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from services.kit.errors import PROBLEM_TYPE_BASE, DomainError, read_remote_error

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"

TITLES: dict[str, tuple[int, str]] = {
    "validation_failed": (422, "The request is not valid"),
    "unauthenticated": (401, "Authentication is required"),
    "permission_denied": (403, "Not permitted"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "conflict": (409, "Conflict"),
    "idempotency_key_reused": (409, "Idempotency key reused with another request"),
    "idempotency_key_in_use": (409, "A request with this idempotency key is still running"),
    "insufficient_funds": (409, "Insufficient funds"),
    "not_allowed": (409, "Not allowed now"),
    "payload_too_large": (413, "Request too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "rate_limited": (429, "Too many requests"),
    "internal": (500, "Internal error"),
    "unavailable": (503, "Service unavailable"),
}

_BY_GRPC_STATUS: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.INVALID_ARGUMENT: "validation_failed",
    grpc.StatusCode.OUT_OF_RANGE: "validation_failed",
    grpc.StatusCode.UNAUTHENTICATED: "unauthenticated",
    grpc.StatusCode.PERMISSION_DENIED: "permission_denied",
    grpc.StatusCode.NOT_FOUND: "not_found",
    grpc.StatusCode.ALREADY_EXISTS: "conflict",
    grpc.StatusCode.ABORTED: "conflict",
    grpc.StatusCode.FAILED_PRECONDITION: "not_allowed",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "rate_limited",
    grpc.StatusCode.UNAVAILABLE: "unavailable",
    grpc.StatusCode.DEADLINE_EXCEEDED: "unavailable",
}


class Problem(Exception):
    """Raised by routes for errors the gateway itself decides (e.g. a missing token)."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def problem_type(code: str) -> str:
    """`https://problems.virtual-manager.ru/validation-failed` (VM_PROBLEM_TYPE_BASE)."""
    return f"{PROBLEM_TYPE_BASE}{code.replace('_', '-')}"


def problem_response(
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    reason: str | None = None,
) -> JSONResponse:
    status, title = TITLES.get(code, TITLES["internal"])
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if reason and reason.lower() != code:
        body["reason"] = reason.lower()
    if errors:
        body["errors"] = errors
    if code == "unauthenticated":
        headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def problem_from_rpc_error(error: grpc.aio.AioRpcError) -> JSONResponse:
    remote = read_remote_error(error)
    reason_code = remote.reason.lower()
    code = reason_code if reason_code in TITLES else _BY_GRPC_STATUS.get(remote.code, "internal")
    if code == "internal" or not remote.from_service:
        # Not one of our domain errors: say what kind of failure, never its internals.
        log.error("backend call failed", extra={"grpc_status": remote.code.name})
        generic = "unavailable" if code == "unavailable" else "internal"
        return problem_response(generic, _GENERIC_DETAIL[generic])
    errors = [{"field": name, "message": text} for name, text in remote.fields.items()] or None
    headers = (
        {"Retry-After": str(remote.retry_after_seconds)} if remote.retry_after_seconds else None
    )
    return problem_response(
        code, remote.message, errors=errors, headers=headers, reason=remote.reason
    )


_GENERIC_DETAIL = {
    "internal": "something went wrong on our side; try again later",
    "unavailable": "a service is not available right now; try again later",
}


_LOCATIONS = frozenset({"body", "path", "query", "header", "cookie"})


def field_path(location: tuple[Any, ...], body: Any = None) -> str:
    """A field as the services name it — `msisdn`, `msisdns[1]`, `amount.currency` — from a
    validation error's location: without the part of the request it is in (a path, query
    and body field of one name are one field to a client), and without the tag pydantic
    inserts for a member of a tagged union (`email` in `bill_delivery.email.address`), which
    is found as a step the request's own body does not have."""
    where, *steps = location or ("body",)
    if where not in _LOCATIONS:
        where, steps = "body", [where, *steps]
    here = body if where == "body" else None
    name = ""
    for index, step in enumerate(steps):
        last = index == len(steps) - 1
        if isinstance(here, dict) and isinstance(step, str) and step not in here and not last:
            continue  # a union's tag: no such key in what the client sent
        if isinstance(step, int):
            name += f"[{step}]"
            here = here[step] if isinstance(here, list) and 0 <= step < len(here) else None
            continue
        name += f".{step}" if name else str(step)
        here = here.get(step) if isinstance(here, dict) else None
    return name or "body"


def _field_error(error: Any, body: Any = None) -> dict[str, str]:
    if error.get("type") == "json_invalid":  # loc is ("body", position)
        position = error.get("loc", ("body", "?"))[-1]
        reason = (error.get("ctx") or {}).get("error", "")
        return {"field": "body", "message": f"not valid JSON at position {position}: {reason}"}
    field = field_path(tuple(error.get("loc", ())), body)
    return {"field": field, "message": str(error.get("msg", ""))}


def path_routes(routes: list[BaseRoute], path: str) -> list[RouteContext]:
    """The routes whose path template matches `path`, whatever their method; when a concrete
    path (no parameters, e.g. `/numbers/export`) matches, only the concrete ones: as in
    OpenAPI, a concrete path is matched before a templated one (`/numbers/{msisdn}`)."""
    matching = [
        route
        for route in iter_route_contexts(routes)  # through included routers
        if route.methods and route.path_regex.match(path)
    ]
    concrete = [route for route in matching if not route.param_convertors]
    return concrete or matching


def allowed_methods(routes: list[BaseRoute], path: str) -> list[str]:
    """Every method some route answers at `path` (the `Allow` of a 405)."""
    methods: set[str] = set()
    for route in path_routes(routes, path):
        methods.update(route.methods or ())
    return sorted(methods)


def method_not_allowed(methods: list[str]) -> JSONResponse:
    return problem_response(
        "method_not_allowed", "Method Not Allowed", headers={"Allow": ", ".join(methods)}
    )


# A route without path parameters: the pattern of its path and the methods it answers.
ConcreteRoute = tuple[re.Pattern[str], frozenset[str]]


class ConcretePathsFirst:
    """A method a concrete path does not answer is 405 there, before routing: otherwise a
    templated route of the same method would take the request (`PATCH /numbers/export` would
    be `PATCH /numbers/{msisdn}` with a malformed number, a 422).

    The concrete routes are listed once, not walked on every request (walking every route
    of the app twice took 23% of the gateway's CPU on GET /me); listed again only if the
    app's routes change."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._listed: tuple[int, int] = (0, -1)  # (id, length) of the routes listed
        self._concrete: list[ConcreteRoute] = []

    def _concrete_routes(self, routes: list[BaseRoute]) -> list[ConcreteRoute]:
        if self._listed != (id(routes), len(routes)):
            self._concrete = [
                (route.path_regex, frozenset(route.methods))
                for route in iter_route_contexts(routes)
                if route.methods and not route.param_convertors
            ]
            self._listed = (id(routes), len(routes))
        return self._concrete

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            answered = [
                methods
                for regex, methods in self._concrete_routes(scope["app"].router.routes)
                if regex.match(path)
            ]
            allowed = frozenset().union(*answered)
            if answered and scope["method"] not in allowed:
                await method_not_allowed(sorted(allowed))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation_failed(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [_field_error(e, error.body) for e in error.errors()]
        return problem_response("validation_failed", "the request is not valid", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {
            # FastAPI's own 400: a body it could not parse (e.g. not UTF-8): the client's
            # mistake, so the client's code, never a 500.
            400: "validation_failed",
            401: "unauthenticated",
            403: "permission_denied",
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
            415: "unsupported_media_type",
            422: "validation_failed",
            429: "rate_limited",
            503: "unavailable",
        }.get(error.status_code, "internal")
        detail = "no such resource" if code == "not_found" else str(error.detail)
        headers = getattr(error, "headers", None)
        if code == "method_not_allowed":
            # Starlette's Allow names the first route of the path only; a path has a route
            # per method here.
            headers = {
                **(headers or {}),
                "Allow": ", ".join(allowed_methods(request.app.router.routes, request.url.path)),
            }
        errors = [{"field": "body", "message": detail}] if error.status_code == 400 else None
        return problem_response(code, detail, headers=headers, errors=errors)

    @app.exception_handler(Problem)
    async def gateway_problem(request: Request, problem: Problem) -> JSONResponse:
        return problem_response(
            problem.code, problem.detail, errors=problem.errors, headers=problem.headers
        )

    @app.exception_handler(DomainError)
    async def gateway_domain_error(request: Request, error: DomainError) -> JSONResponse:
        # Raised by kit code running in the gateway itself (e.g. token verification when
        # identity's keys cannot be fetched).
        reason_code = error.reason.lower()
        code = reason_code if reason_code in TITLES else _BY_GRPC_STATUS.get(error.code, "internal")
        return problem_response(code, error.message)

    @app.exception_handler(grpc.aio.AioRpcError)
    async def backend_error(request: Request, error: grpc.aio.AioRpcError) -> JSONResponse:
        return problem_from_rpc_error(error)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected failure in the gateway")
        return problem_response("internal", _GENERIC_DETAIL["internal"])
