"""`GET /readyz` is the gateway's own readiness: ready once its app has started and made its
channels to the services, whatever they answer (none runs here); not before, not after."""

from __future__ import annotations

from fastapi.testclient import TestClient

from gateway.app import create_app
from services.kit.settings import Settings


def test_ready_while_started_even_with_no_service_answering() -> None:
    app = create_app(Settings(env="test"))
    with TestClient(app) as client:  # the lifespan runs: channels made, nothing connected
        ready = client.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        assert "ratelimit-limit" not in ready.headers
    # its lifespan has ended (the process is stopping): no longer ready
    assert TestClient(app).get("/readyz").status_code == 503


def test_not_ready_before_it_has_started() -> None:
    client = TestClient(create_app(Settings(env="test")))  # no lifespan: never started
    answer = client.get("/readyz")
    assert (answer.status_code, answer.json()) == (503, {"status": "not_ready"})
