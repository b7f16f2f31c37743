"""The console's own requests per screen are few: each main screen, opened afresh (a page
load that restores the session), makes at most the calls it needs, never the same call
twice and never one call per row of a list (N+1) — the company has several numbers,
accounts, tickets and users, so a per-row call would show."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, Request, expect

from tests.e2e import test_console
from tests.e2e.test_billing import open_account, pay
from tests.e2e.test_catalog_hierarchy import three_levels
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_console import NO_LOADER, log_in
from tests.e2e.test_identity_users_roles import create_user
from tests.e2e.test_tickets import open_ticket

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin

# What opening a screen afresh always costs: the session restored from the refresh token
# (POST /auth/refresh), who the user is (GET /me), the home screen's preferences and the
# language (GET /me/preferences).
BOOT = 3
# The screens, the heading that says each is there, and the calls each may make itself.
SCREENS = {
    # the latest operations, the balances
    "home": ("/", "Главная", 2),
    # the tree, the first page of numbers
    "hierarchy": ("/hierarchy", "Иерархия", 2),
    # the card, its tariff, the tariff catalogue, the services for its tariff, the
    # accounts (to move it), its usage
    "number": ("/numbers/{msisdn}", "Карточка номера", 6),
    # the accounts; with one chosen, its statement and promised payments
    "finance": ("/finance?account={account}", "Финансы", 3),
    # the accounts, the document types, the report types, the tree (for a subtree)
    "documents": ("/documents", "Документы и отчёты", 4),
    # the first page of tickets
    "tickets": ("/tickets", "Обращения", 1),
    # users, roles, the tree (scope names)
    "management": ("/admin", "Управление", 3),
    # beyond the boot's (who the user is, the preferences): the notification choices
    "settings": ("/settings", "Мои настройки", 1),
}
# A path's ids as one placeholder: /api/v1/numbers/79161234567 → /api/v1/numbers/{}.
ID = re.compile(r"(?<=/)(?=[^/]*\d)[^/]{6,}")


def template(call: str) -> str:
    """«GET /api/v1/numbers/79161234567?x=1» → «GET /api/v1/numbers/{}»."""
    method, url = call.split(" ", 1)
    return f"{method} {ID.sub('{}', url.split('?', 1)[0])}"


async def opened(page: Page, path: str, heading: str) -> list[str]:
    """The console's /api requests while the screen at `path` opens and settles."""
    calls: list[str] = []

    def on_request(request: Request) -> None:
        parts = urlsplit(request.url)
        if parts.path.startswith("/api/"):
            query = f"?{parts.query}" if parts.query else ""
            calls.append(f"{request.method} {parts.path}{query}")

    page.on("request", on_request)
    try:
        await page.goto(path)
        await expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
        await page.wait_for_load_state("networkidle")
        await page.wait_for_function(NO_LOADER)
        await page.wait_for_load_state("networkidle")
    finally:
        page.remove_listener("request", on_request)
    return calls


async def test_each_screen_makes_few_requests_and_none_per_row(page, system, api, company, admin):
    nodes = await three_levels(api, admin)
    msisdns = await give_numbers(
        system, company.id, [nodes["city"]["id"], nodes["sales"]["id"], "", "", ""]
    )
    accounts = [await open_account(system, company.id) for _ in range(3)]
    for account in accounts:
        await pay(system, company.id, account, 50_000)
    for subject in ("Нет связи", "Счёт за май", "Перенос номера"):
        await open_ticket(api, admin, subject=subject)
    for _ in range(3):
        await create_user(api, admin, roles=["viewer"])

    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()

    measured: dict[str, int] = {}
    problems: list[str] = []
    for name, (path, heading, own) in SCREENS.items():
        url = path.format(msisdn=msisdns[0], account=accounts[0])
        calls = await opened(page, url, heading)
        measured[name] = len(calls)
        if len(calls) > BOOT + own:
            problems.append(f"{name}: {len(calls)} requests, at most {BOOT + own}: {calls}")
        twice = [call for call, n in Counter(calls).items() if n > 1]
        if twice:
            problems.append(f"{name}: the same request more than once: {twice}")
        per_row = [f"{t} ×{n}" for t, n in Counter(template(c) for c in calls).items() if n > 2]
        if per_row:
            problems.append(f"{name}: one request per row: {per_row}")
    print("requests per screen (with the boot's", BOOT, "):", measured)
    assert not problems, "\n".join(problems)
