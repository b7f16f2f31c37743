"""The REST gateway: REST ⇄ gRPC, token check, problem+json, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway.backends import Backends
from gateway.console import install_console
from gateway.docs import install_docs
from gateway.json_body import JsonBodyCheck
from gateway.metrics import install_metrics
from gateway.middleware import RequestContextMiddleware
from gateway.openapi import TAGS, install_openapi, operation_id
from gateway.problems import ConcretePathsFirst, install_problem_handlers
from gateway.rate_limits import RateLimitMiddleware
from gateway.routers import (
    accounts,
    api_keys,
    audit,
    auth,
    automation,
    catalogue,
    dev,
    documents,
    forms,
    health,
    hierarchy,
    me,
    notification_preferences,
    number_billing,
    number_operations,
    numbers,
    operations,
    reports,
    roles,
    tickets,
    transfers,
    two_factor,
    users,
    webhooks,
)
from gateway.routers import settings as settings_routes
from services.kit.settings import Settings, get_settings
from services.kit.tracing import instrument_fastapi

DESCRIPTION = (
    "Виртуальный менеджер — личный кабинет для управления корпоративными номерами: "
    "пользователи и роли, иерархия, тарифы и услуги, лицевые счета, документы, обращения."
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.backends = Backends.connect(settings)
        app.state.ready = True  # GET /readyz: its own state, never the services'
        try:
            yield
        finally:
            app.state.ready = False
            await app.state.backends.close()

    app = FastAPI(
        title="Virtual Manager",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # Served by install_docs from the gateway's own files, never from a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.add_middleware(JsonBodyCheck)  # inside the request context: its answers carry the id
    app.add_middleware(ConcretePathsFirst)  # a 405 before the body is even read
    # Inside the request context (a 429 carries the request's id and is counted by route).
    app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(RequestContextMiddleware)
    install_metrics(app)  # outermost: every answer is counted, the problem ones too
    install_problem_handlers(app)
    install_docs(app)
    install_openapi(app)
    for router in (health.router, auth.router, me.router, users.router, roles.router):
        app.include_router(router)
    app.include_router(settings_routes.router)
    app.include_router(audit.router)
    app.include_router(api_keys.router)
    app.include_router(two_factor.router)
    app.include_router(hierarchy.router)
    app.include_router(catalogue.router)
    app.include_router(numbers.router)
    app.include_router(number_operations.router)
    app.include_router(accounts.router)
    app.include_router(transfers.router)
    app.include_router(number_billing.router)
    app.include_router(tickets.router)
    app.include_router(operations.router)
    app.include_router(forms.router)
    app.include_router(reports.router)
    app.include_router(documents.router)
    app.include_router(notification_preferences.router)
    app.include_router(webhooks.router)
    app.include_router(automation.router)
    if settings.env == "dev":
        app.include_router(dev.router)
    install_console(app)  # after every router: the console answers what none of them does
    instrument_fastapi(app)  # its server span outermost: the access log runs inside it
    return app
