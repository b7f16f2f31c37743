"""The gateway serves the web console's build: hashed assets cached for a year, the app
shell for client routes, the API and its 404s untouched, and a page saying how to build
the console when there is no build."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway import console
from gateway.app import create_app
from services.kit.settings import Settings

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def client(monkeypatch: pytest.MonkeyPatch, dist: Path) -> TestClient:
    monkeypatch.setattr(console, "DIST", dist)
    # Never entered as a context manager: no lifespan, so no backends are dialled.
    return TestClient(create_app(Settings(env="dev")))


@pytest.fixture
def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>ВМ</title>shell")
    (tmp_path / "assets" / "index-AbC123.js").write_text("console.log(1)")
    (tmp_path / "favicon.svg").write_text("<svg/>")
    (tmp_path.parent / "secret.txt").write_text("not for the web")
    return tmp_path


def test_hashed_assets_are_immutable_for_a_year(monkeypatch, built):
    response = client(monkeypatch, built).get("/assets/index-AbC123.js")
    assert response.status_code == 200
    assert response.text == "console.log(1)"
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in response.headers["content-type"]


@pytest.mark.parametrize("path", ["/", "/hierarchy", "/numbers/79161234567"])
def test_client_routes_get_the_shell_never_cached(monkeypatch, built, path):
    response = client(monkeypatch, built).get(path, headers=HTML)
    assert response.status_code == 200
    assert response.text.endswith("shell")
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/html")


def test_root_files_are_served_and_revalidated(monkeypatch, built):
    response = client(monkeypatch, built).get("/favicon.svg")
    assert response.status_code == 200 and response.text == "<svg/>"
    assert "must-revalidate" in response.headers["cache-control"]


@pytest.mark.parametrize(
    "path",
    ["/api/v1/nothing-here", "/api", "/dev/nothing", "/healthz/x", "/docs/x", "/assets/missing.js"],
)
def test_the_api_and_missing_assets_stay_problem_404(monkeypatch, built, path):
    response = client(monkeypatch, built).get(path, headers=HTML)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def test_a_client_that_wants_json_gets_a_404_not_the_shell(monkeypatch, built):
    response = client(monkeypatch, built).get("/hierarchy", headers={"accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_other_methods_are_not_the_consoles(monkeypatch, built):
    response = client(monkeypatch, built).post("/hierarchy", headers=HTML)
    assert response.status_code == 404


def test_nothing_outside_the_build_is_served(monkeypatch, built):
    http = client(monkeypatch, built)
    for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"):
        response = http.get(path)
        assert "not for the web" not in response.text


def test_the_api_docs_and_openapi_are_unchanged(monkeypatch, built):
    http = client(monkeypatch, built)
    assert http.get("/openapi.json").json()["info"]["title"] == "Virtual Manager"
    assert http.get("/docs", headers=HTML).status_code == 200
    assert "shell" not in http.get("/docs", headers=HTML).text


def test_without_a_build_the_gateway_says_to_make_it(monkeypatch, tmp_path):
    http = client(monkeypatch, tmp_path / "dist")
    response = http.get("/", headers=HTML)
    assert response.status_code == 503
    assert "make web" in response.text
    assert http.get("/hierarchy", headers=HTML).status_code == 404
    assert http.get("/openapi.json").status_code == 200
