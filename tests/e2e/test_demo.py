"""The demo data loads through the real surfaces, once, and its logins work."""

from __future__ import annotations

import pytest

from demo.data import COMPANIES, DEMO_PASSWORD, ROMASHKA_STAFF
from demo.load import load_demo

pytestmark = pytest.mark.e2e


async def test_demo_loads_once_and_every_demo_login_works(system, api):
    first = await load_demo(system.settings)
    again = await load_demo(system.settings)

    assert "created" in first[0] and "already there" in again[0]
    assert again[-1].endswith(f"0 added, {len(ROMASHKA_STAFF)} already there")
    for company in COMPANIES:
        login = await api.post(
            "/api/v1/auth/login", json={"login": company.main_number, "password": DEMO_PASSWORD}
        )
        assert login.status_code == (200 if company.registers else 401), company.name
    for staff in ROMASHKA_STAFF:
        login = await api.post(
            "/api/v1/auth/login", json={"login": staff.login, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, staff.login
        me = await api.get(
            "/api/v1/me", headers={"authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.json()["user"]["assignments"] == [{"role_id": staff.role_id, "node_id": None}]
        assert me.json()["company"]["inn"] == COMPANIES[0].inn
