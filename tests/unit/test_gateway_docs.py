"""The docs pages come from the gateway's own files: no page names another host, and every
file a page loads is served by the gateway itself."""

from __future__ import annotations

import re

import httpx
import pytest

from gateway.app import create_app
from services.kit.settings import Settings

# Any absolute URL or protocol-relative reference in the HTML: a host other than ours.
EXTERNAL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+""")
LOADED = re.compile(r"""(?:src|href)=["']([^"']+)["']|(?:url|spec-url)\s*[:=]\s*["']([^"']+)["']""")


@pytest.fixture
async def gateway():
    app = create_app(Settings(env="test"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as http:
        yield http


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_a_docs_page_names_no_other_host_and_its_files_are_ours(gateway, page):
    response = await gateway.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert EXTERNAL.findall(html) == [], EXTERNAL.findall(html)
    loaded = {a or b for a, b in LOADED.findall(html)}
    assert "/openapi.json" in loaded or any("openapi.json" in u for u in loaded), loaded
    assert any(u.startswith("/docs-static/") for u in loaded), loaded
    for url in loaded:
        served = await gateway.get(url)
        assert served.status_code == 200, url
        assert len(served.content) > 100, url


async def test_swagger_ui_is_version_5_and_asks_no_validator(gateway):
    """Swagger UI 4 refuses OpenAPI 3.1 ("does not specify a valid version field")."""
    html = (await gateway.get("/docs")).text
    assert '"validatorUrl": null' in html
    script = (await gateway.get("/docs-static/swagger-ui-bundle.js")).text
    assert "isOAS31" in script
    assert (await gateway.get("/openapi.json")).json()["openapi"].startswith("3.1")


async def test_there_is_no_static_file_outside_the_bundle(gateway):
    assert (await gateway.get("/docs-static/../app.py")).status_code == 404
    assert (await gateway.get("/docs-static/no-such.js")).status_code == 404
