"""The demo data loads through the real surfaces, once, and its logins work."""

from __future__ import annotations

import pytest

from demo.data import (
    COMPANIES,
    DEMO_PASSWORD,
    ROMASHKA_MANAGER,
    ROMASHKA_MANAGER_SCOPE,
    ROMASHKA_STAFF,
)
from demo.load import load_demo

pytestmark = pytest.mark.e2e


async def test_demo_loads_once_and_every_demo_login_works(system, api):
    first = await load_demo(system.settings)
    again = await load_demo(system.settings)

    assert "created" in first[0] and "already there" in again[0]
    assert again[-2].endswith(f"0 added, {len(ROMASHKA_STAFF)} already there")
    assert again[-1] == first[-1]  # the hierarchy is there once
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


async def test_demo_hierarchy_is_three_levels_and_the_manager_is_scoped(system, api):
    await load_demo(system.settings)
    login = await api.post(
        "/api/v1/auth/login", json={"login": ROMASHKA_MANAGER.login, "password": DEMO_PASSWORD}
    )
    headers = {"authorization": f"Bearer {login.json()['access_token']}"}
    nodes = {
        n["id"]: n for n in (await api.get("/api/v1/hierarchy", headers=headers)).json()["nodes"]
    }
    depth = {node_id: 0 for node_id in nodes}
    for node_id, node in nodes.items():
        parent = node["parent_id"]
        while parent:
            depth[node_id] += 1
            parent = nodes[parent]["parent_id"]
    assert max(depth.values()) >= 3  # company → region → city → department
    me = (await api.get("/api/v1/me", headers=headers)).json()
    [scope] = me["scopes"]
    assert nodes[scope["node_id"]]["name"] == ROMASHKA_MANAGER_SCOPE
    assert "numbers.tariff" in scope["permissions"]
