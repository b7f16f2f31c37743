"""The demo data loads through the real surfaces, once, and its logins work."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest

from demo.billing import demo_months
from demo.data import (
    COMPANIES,
    DEMO_PASSWORD,
    FREE_NUMBERS,
    PETROV_NUMBERS,
    ROMASHKA_ACCOUNTS,
    ROMASHKA_MANAGER,
    ROMASHKA_MANAGER_SCOPE,
    ROMASHKA_NUMBERS,
    ROMASHKA_STAFF,
    ROMASHKA_TICKETS,
    SERVICES,
    TARIFFS,
    USAGE_MONTHS,
    VASILEK_NUMBERS,
)
from demo.load import load_demo
from demo.progress import Advance, Steps
from services.catalog.domain.numbers import luhn_valid

pytestmark = pytest.mark.e2e


def line(report: list[str], start: str) -> str:
    """The report's one line that starts so."""
    [found] = [text for text in report if text.startswith(start)]
    return found


async def logged_in(api, login: str) -> dict[str, str]:
    answer = await api.post("/api/v1/auth/login", json={"login": login, "password": DEMO_PASSWORD})
    assert answer.status_code == 200, login
    return {"authorization": f"Bearer {answer.json()['access_token']}"}


async def every_number(api, headers, **params) -> list[dict]:
    """Every page of GET /api/v1/numbers."""
    items: list[dict] = []
    token = ""
    while True:
        page = await api.get(
            "/api/v1/numbers",
            headers=headers,
            params={**params, "page_size": 500, "page_token": token},
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        token = page.json()["next_page_token"]
        if not token:
            return items


class StepClock(Steps):
    """Prints when each step of a load starts and how long it took: a load that runs out of
    time says at which step, in the failed test's output."""

    def __init__(self) -> None:
        super().__init__()
        self._started = time.monotonic()

    @contextmanager
    def step(self, description: str, total: int | None = None) -> Iterator[Advance]:
        began = time.monotonic()
        print(f"{began - self._started:7.1f} s  {description}", flush=True)
        yield lambda units=1: None
        print(f"{time.monotonic() - began:7.1f} s  … {description}: done", flush=True)


def depths(nodes: dict[str, dict]) -> dict[str, int]:
    """Each node's depth below the root (the root: 0)."""
    depth = {node_id: 0 for node_id in nodes}
    for node_id, node in nodes.items():
        parent = node["parent_id"]
        while parent:
            depth[node_id] += 1
            parent = nodes[parent]["parent_id"]
    return depth


# The first load makes everything, down to documents the worker writes: 35-55 s on an idle
# machine, more than twice that at the end of a whole suite on a shared one.
@pytest.mark.timeout(360)
async def test_demo_loads_once_and_every_demo_login_works(system, api):
    first = await load_demo(system.settings, steps=StepClock())
    again = await load_demo(system.settings, steps=StepClock())

    assert "created" in first[0] and "already there" in again[0]
    staff = f"{COMPANIES[0].name}: staff users"
    assert line(again, staff).endswith(f"0 added, {len(ROMASHKA_STAFF)} already there")
    hierarchy = f"{COMPANIES[0].name}: hierarchy"
    assert line(again, hierarchy) == line(first, hierarchy)  # the hierarchy is there once
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
    assert max(depths(nodes).values()) >= 3  # company → region → city → department
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


async def test_demo_numbers_fill_the_hierarchy_once_and_the_manager_sees_moscow_only(system, api):
    await load_demo(system.settings)
    admin = await logged_in(api, COMPANIES[0].main_number)
    nodes = {
        n["id"]: n for n in (await api.get("/api/v1/hierarchy", headers=admin)).json()["nodes"]
    }
    [root] = [n for n in nodes.values() if n["parent_id"] is None]

    again = await load_demo(system.settings)  # a second load adds nothing

    assert len(ROMASHKA_NUMBERS) >= 500 and root["number_count"] == len(ROMASHKA_NUMBERS)
    for demo, numbers in zip(
        COMPANIES, (ROMASHKA_NUMBERS, VASILEK_NUMBERS, PETROV_NUMBERS), strict=True
    ):
        assert line(again, f"{demo.name}: numbers") == (
            f"{demo.name}: numbers — 0 added, {len(numbers)} already there"
        )
    assert line(again, "the free pool") == (
        f"the free pool: numbers — 0 added, {len(FREE_NUMBERS)} already there"
    )
    after = {
        n["id"]: n["number_count"]
        for n in (await api.get("/api/v1/hierarchy", headers=admin)).json()["nodes"]
    }
    assert after == {node_id: n["number_count"] for node_id, n in nodes.items()}
    # Spread over the hierarchy: numbers at every level, the departments (level 3) included.
    depth = depths(nodes)
    assert max(depth.values()) >= 3
    assert all(n["number_count"] > 0 for n in nodes.values())
    assert len({d for node_id, d in depth.items() if nodes[node_id]["number_count"]}) >= 4

    listed = {n["msisdn"]: n for n in await every_number(api, admin)}
    assert set(listed) == {n.msisdn for n in ROMASHKA_NUMBERS}
    assert all(luhn_valid(n["iccid"]) for n in listed.values())
    offered = {t.id for t in TARIFFS if t.available}
    assert {n["tariff"]["id"] for n in listed.values()} <= offered
    assert len({n["tariff"]["id"] for n in listed.values()}) >= 5
    labelled = [n for n in listed.values() if n["label"]]
    assert len(labelled) >= 10 and "Иванов И.И., менеджер" in {n["label"] for n in labelled}

    # The manager scoped to Moscow sees Moscow's numbers, and only those.
    [moscow] = [n for n in nodes.values() if n["name"] == ROMASHKA_MANAGER_SCOPE]
    under_moscow = {
        node_id
        for node_id in nodes
        if node_id == moscow["id"] or nodes[node_id]["parent_id"] == moscow["id"]
    }
    manager = await logged_in(api, ROMASHKA_MANAGER.login)
    seen = await every_number(api, manager)
    expected = {
        n.msisdn
        for n in ROMASHKA_NUMBERS
        if n.place == ROMASHKA_MANAGER_SCOPE or n.place.startswith(f"{ROMASHKA_MANAGER_SCOPE} / ")
    }
    assert {n["msisdn"] for n in seen} == expected
    assert len(seen) == moscow["number_count"] and {n["node_id"] for n in seen} == under_moscow
    elsewhere = next(n.msisdn for n in ROMASHKA_NUMBERS if n.msisdn not in expected)
    assert (await api.get(f"/api/v1/numbers/{elsewhere}", headers=manager)).status_code == 404

    # Василёк has its own numbers, and nothing of Ромашка's.
    vasilek = await logged_in(api, COMPANIES[1].main_number)
    assert {n["msisdn"] for n in await every_number(api, vasilek)} == {
        n.msisdn for n in VASILEK_NUMBERS
    }


async def test_demo_tickets_are_in_every_state_with_their_history(system, api):
    await load_demo(system.settings)
    again = await load_demo(system.settings)

    assert line(again, f"{COMPANIES[0].name}: tickets") == (
        f"{COMPANIES[0].name}: tickets already there"
    )
    admin = await logged_in(api, COMPANIES[0].main_number)
    tickets = (await api.get("/api/v1/tickets", headers=admin)).json()["items"]
    assert len(tickets) == len(ROMASHKA_TICKETS)
    assert {t["status"] for t in tickets} == {
        "open",
        "in_progress",
        "waiting_for_customer",
        "resolved",
        "closed",
    }
    closed = next(t for t in tickets if t["status"] == "closed")
    history = (await api.get(f"/api/v1/tickets/{closed['id']}", headers=admin)).json()["history"]
    assert [e["kind"] for e in history] == [
        "created",
        "status_changed",
        "comment",
        "status_changed",
        "status_changed",
    ]


async def test_demo_accounts_hold_money_numbers_and_months_of_usage(system, api):
    await load_demo(system.settings)
    again = await load_demo(system.settings)  # nothing booked twice

    assert line(again, f"{COMPANIES[0].name}: 3 accounts").startswith(
        f"{COMPANIES[0].name}: 3 accounts, 0 numbers moved"
    )
    admin = await logged_in(api, COMPANIES[0].main_number)
    accounts = (await api.get("/api/v1/accounts", headers=admin)).json()["items"]
    assert len(accounts) == len(ROMASHKA_ACCOUNTS)
    assert {a["settlement_method"] for a in accounts} == {"advance", "credit"}
    assert sum(a["number_count"] for a in accounts) == len(ROMASHKA_NUMBERS)
    assert all(a["number_count"] > 0 and not a["blocked"] for a in accounts)
    advance = [a for a in accounts if a["settlement_method"] == "advance"]
    assert all(a["balance"]["amount"] > 0 for a in advance)
    # Each payment booked once, though the demo was loaded twice.
    entries = (
        await api.get(
            f"/api/v1/accounts/{advance[0]['id']}/entries",
            headers=admin,
            params={"page_size": 500},
        )
    ).json()["items"]
    payments = [e for e in entries if e["kind"] == "payment"]
    assert len(payments) == USAGE_MONTHS + 1
    assert {e["kind"] for e in entries} >= {"payment", "usage", "subscription_fee"}
    # Three whole months of usage (and this one so far) for every number.
    number = ROMASHKA_NUMBERS[0].msisdn
    first_month = demo_months(datetime.now(UTC))[0]
    usage = await api.get(
        f"/api/v1/numbers/{number}/usage",
        headers=admin,
        params={"from": first_month.date().isoformat()},
    )
    assert usage.status_code == 200, usage.text
    calls = next(k for k in usage.json()["kinds"] if k["kind"] == "calls")
    assert calls["records"] == USAGE_MONTHS + 1
    card = (await api.get(f"/api/v1/numbers/{number}", headers=admin)).json()
    assert card["account"]["id"] in {a["id"] for a in accounts}

    for demo in COMPANIES[1:]:
        report = line(again, f"{demo.name}: 1 accounts")
        assert "0 numbers moved" in report


async def test_demo_journal_holds_finished_documents_and_reports(system, api):
    await load_demo(system.settings)
    again = await load_demo(system.settings)  # the same operations, nothing made twice
    assert "4 of 4 operations finished" in line(again, f"{COMPANIES[0].name}: documents")
    accountant = await logged_in(api, "buh.ivanova")
    journal = (await api.get("/api/v1/operations", headers=accountant)).json()["items"]
    finished = {(o["type"], o["status"]) for o in journal}
    assert {("documents", "succeeded"), ("report", "succeeded")} <= finished
    assert sum(o["type"] == "report" for o in journal) == 3
    documents = (await api.get("/api/v1/documents", headers=accountant)).json()["items"]
    assert len(documents) == len(ROMASHKA_ACCOUNTS) * 3
    assert all(d["total"]["amount"] > 0 for d in documents)  # a month of fees and usage
