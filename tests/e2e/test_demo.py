"""The demo data loads through the real surfaces, once, and its logins work."""

from __future__ import annotations

import pytest

from demo.data import (
    COMPANIES,
    DEMO_PASSWORD,
    ROMASHKA_MANAGER,
    ROMASHKA_MANAGER_SCOPE,
    ROMASHKA_STAFF,
    SERVICES,
    TARIFFS,
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


async def test_demo_catalogue_has_the_tariffs_and_services_with_their_rules(system, api):
    report = await load_demo(system.settings)
    login = await api.post(
        "/api/v1/auth/login", json={"login": COMPANIES[0].main_number, "password": DEMO_PASSWORD}
    )
    headers = {"authorization": f"Bearer {login.json()['access_token']}"}

    tariffs = (await api.get("/api/v1/tariffs", headers=headers)).json()["items"]
    services = (await api.get("/api/v1/services", headers=headers)).json()["items"]

    assert f"the operator's catalogue: {len(TARIFFS)} tariffs, {len(SERVICES)} services" in report
    demo_ids = {t.id for t in TARIFFS}
    by_name = {t["name"]: t for t in tariffs if t["id"] in demo_ids}
    assert len(by_name) == len(TARIFFS)  # loaded again: replaced by id, never added twice
    offered = {name for name, tariff in by_name.items() if tariff["available"]}
    assert len(offered) >= 6 and {"Бизнес Старт", "Корпоративный Эксперт"} <= offered
    start = by_name["Бизнес Старт"]
    assert start["monthly_fee"] == {"amount": 45000, "currency": "RUB"}
    assert {s["type"] for s in start["settings"]} == {"int", "choice", "bool"}
    service_ids = {s.id for s in SERVICES}
    named = {s["name"]: s for s in services if s["id"] in service_ids}
    assert len(named) == len(SERVICES) >= 12
    assert named["Безлимит в роуминге"]["requires"] == [named["Международный роуминг"]["id"]]
    assert named["Корпоративная группа"]["excludes"] == [named["Семейная группа"]["id"]]
    assert named["Дополнительный интернет 10 ГБ"]["tariffs"]  # only on some tariffs
