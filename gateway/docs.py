"""The API's documentation pages, served from the gateway's own files: Swagger UI at
`/docs` and ReDoc at `/redoc`, their scripts and styles under `/docs-static`.

No page names another host, so the docs render on a machine without the internet and
leak no visit to a CDN. The files come from the PyPI package `fastapi-offline` (Swagger
UI 5, which renders OpenAPI 3.1 — what FastAPI writes; the `swagger-ui-bundle` package's
Swagger UI 4 refuses it). Only its static files are used. Swagger UI's online validator
(a request to validator.swagger.io for every page view) is off.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_PATH = "/docs-static"
STATIC_DIRECTORY = str(files("fastapi_offline") / "static")
# The files the pages load, each under STATIC_PATH.
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"
SWAGGER_PARAMETERS = {
    "validatorUrl": None,  # no badge fetched from validator.swagger.io
    "persistAuthorization": True,
    "displayRequestDuration": True,
    "tryItOutEnabled": False,
}


def install_docs(app: FastAPI) -> None:
    """Call with an app made with `docs_url=None, redoc_url=None`."""
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIRECTORY), name="docs-static")

    def urls(request: Request) -> tuple[str, str]:
        root = request.scope.get("root_path", "").rstrip("/")
        return f"{root}{app.openapi_url}", f"{root}{STATIC_PATH}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        openapi_url, static = urls(request)
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{static}/{SWAGGER_JS}",
            swagger_css_url=f"{static}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{static}/{FAVICON}",
            oauth2_redirect_url=None,
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        openapi_url, static = urls(request)
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{static}/{REDOC_JS}",
            redoc_favicon_url=f"{static}/{FAVICON}",
            with_google_fonts=False,
        )
