"""The web console (web/'s build, `make web`) at `/`.

Hashed assets under `/assets/` are cached for a year (`immutable`: a new build has new
names); any other GET of a page that the API, the docs and the health check do not answer,
from a client that accepts HTML, is the app shell, `index.html`, never cached, so that the
console's client-side routes (`/hierarchy`, `/numbers/79161234567`) survive a reload. The
API's routes, `/docs`, `/openapi.json`, `/healthz` and `/dev` are untouched, and an unknown
path under them is still problem+json 404. Without a build the gateway runs all the same and
`/` says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"
# Files at the build's root (favicon.svg): the same names across builds, so revalidated.
REVALIDATE = "public, max-age=0, must-revalidate"
NOT_SERVED = (
    "/api",
    "/docs",
    "/docs-static",
    "/redoc",
    "/openapi.json",
    "/healthz",
    "/readyz",
    "/dev",
    "/metrics",
)

NOT_BUILT = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Виртуальный менеджер</title></head>
<body><main><h1>Виртуальный менеджер</h1>
<p>Веб-консоль не собрана: выполните <code>make web</code> и перезапустите шлюз.</p>
<p lang="en">The web console is not built: run <code>make web</code> and restart the gateway.</p>
<p>REST API: <a href="/api/v1">/api/v1</a>, <a href="/docs">/docs</a>.</p>
</main></body></html>
"""


def _reserved(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in NOT_SERVED)


def _accepts_html(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"accept":
            return b"text/html" in value
    return False


class Console:
    """The router's fallback: what no route matched and the console may answer."""

    def __init__(self, dist: Path, not_found: ASGIApp) -> None:
        self.dist = dist.resolve()
        self.not_found = not_found

    def _file(self, path: str) -> Path | None:
        candidate = (self.dist / path.lstrip("/")).resolve()
        if candidate.is_relative_to(self.dist) and candidate.is_file():
            return candidate
        return None

    def response(self, scope: Scope) -> Response | None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return None
        path: str = scope["path"]
        if _reserved(path):
            return None
        index = self.dist / "index.html"
        if not index.is_file():
            if path == "/":
                return HTMLResponse(
                    NOT_BUILT, status_code=503, headers={"cache-control": "no-store"}
                )
            return None
        if path.startswith("/assets/"):
            found = self._file(path)
            return FileResponse(found, headers={"cache-control": IMMUTABLE}) if found else None
        if path != "/" and (found := self._file(path)) and found.name != "index.html":
            return FileResponse(found, headers={"cache-control": REVALIDATE})
        if path == "/" or _accepts_html(scope):
            return FileResponse(index, headers={"cache-control": "no-cache"})
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.response(scope)
        if response is None:
            await self.not_found(scope, receive, send)
        else:
            await response(scope, receive, send)


def install_console(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the console (`dist`, by default web/dist) where no route of `app` matches;
    call it after every router."""
    app.router.default = Console(dist or DIST, app.router.default)
