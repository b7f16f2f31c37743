"""`/docs` renders in a browser that reaches nothing but the gateway (as in a corporate
network without internet): Swagger UI from the gateway's own files lists the operations."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
from playwright.async_api import Request, Route

from tests.e2e.test_console import browser, console_build, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.e2e


async def test_swagger_ui_lists_the_operations_without_any_other_host(page, system) -> None:  # noqa: F811
    gateway = urlparse(system.gateway_url).netloc
    elsewhere: list[str] = []

    async def only_the_gateway(route: Route, request: Request) -> None:
        if urlparse(request.url).netloc == gateway:
            await route.continue_()
            return
        elsewhere.append(request.url)
        await route.abort()

    await page.route("**/*", only_the_gateway)
    await page.goto("/docs")
    operations = page.locator(".opblock")
    await operations.first.wait_for()
    assert await operations.count() >= 50
    await page.get_by_text("/api/v1/numbers/{msisdn}", exact=True).first.wait_for()
    assert elsewhere == []
