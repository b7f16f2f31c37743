"""No readiness cascade at the gateway: with one service's process stopped, the routes of
that service answer 503 problem+json `unavailable`, every other route still answers, and
the gateway stays ready (`/readyz` 200) while `/healthz` shows the service down."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.e2e.test_identity_flows import bearer, register
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e


async def test_a_service_that_is_down_fails_only_its_own_routes(
    system: RunningSystem, api, company
):
    admin = bearer(await register(api, company))
    assert (await api.get("/api/v1/tickets", headers=admin)).status_code == 200
    assert (await api.get("/readyz")).json() == {"status": "ready"}

    assert system.stop_process("tickets", signal.SIGTERM) == 0
    try:
        on_it = await api.get("/api/v1/tickets", headers=admin)
        assert on_it.status_code == 503, on_it.text
        assert on_it.headers["content-type"] == "application/problem+json"
        assert on_it.json()["code"] == "unavailable"
        assert on_it.json()["status"] == 503

        # Other services' routes, the caller's identity and the gateway's readiness hold.
        for path in ("/api/v1/hierarchy", "/api/v1/accounts", "/api/v1/me", "/api/v1/forms"):
            elsewhere = await api.get(path, headers=admin)
            assert elsewhere.status_code == 200, (path, elsewhere.text)
        ready = await api.get("/readyz")
        assert (ready.status_code, ready.json()) == (200, {"status": "ready"})
        health = await api.get("/healthz")
        assert health.status_code == 503
        assert health.json()["services"]["tickets"] == "UNREACHABLE"
    finally:
        system.start_process("tickets", "services.tickets")
        await asyncio.to_thread(system.wait_healthy)

    back = await api.get("/api/v1/tickets", headers=admin)
    assert back.status_code == 200, back.text
