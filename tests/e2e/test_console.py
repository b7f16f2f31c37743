"""The web console in a real Chromium (Debian's `chromium`, driven by Playwright): a
company administrator logs in and sees «Главная», finds a number on «Иерархия» and blocks
it from its card; a viewer is offered no block button; English survives a reload. Every
screen is photographed at desktop and phone widths (test-results/console/) and checked
with axe-core: no serious or critical violation."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from tests.e2e.test_billing import open_account, pay
from tests.e2e.test_catalog_hierarchy import hierarchy
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import PASSWORD, bearer, register
from tests.e2e.test_identity_users_roles import PASSWORD as STAFF_PASSWORD
from tests.e2e.test_identity_users_roles import create_user
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e
expect.set_options(timeout=15_000)

DIST = ROOT / "web" / "dist"
AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("VM_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / "test-results" / "console"
WIDTHS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


FITS = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
# The innermost elements that reach past the right edge of the screen.
WIDE_ELEMENTS = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(e => ![...e.children].some(c =>
      c.getBoundingClientRect().right > document.documentElement.clientWidth + 1))
  .slice(0, 5)
  .map(e => `${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.slice(0, 40)}`)"""


def spaced(msisdn: str) -> str:
    """How the console writes a number: +7 916 123-45-67."""
    return f"+7 {msisdn[1:4]} {msisdn[4:7]}-{msisdn[7:9]}-{msisdn[9:]}"


@pytest.fixture(scope="session")
def console_build() -> Path:
    """The gateway serves web/dist; without it these tests fail, never skip."""
    if not (DIST / "index.html").is_file():
        pytest.fail("web/dist is missing: run `make web` before the console's tests")
    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: run `make web` (npm ci in web/)")
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    return DIST


@pytest.fixture(scope="session")
async def browser(console_build) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(browser, system) -> AsyncIterator[Page]:
    context = await browser.new_context(
        base_url=system.gateway_url,
        viewport=WIDTHS["desktop"],
        locale="ru-RU",
        reduced_motion="reduce",
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    yield page
    await context.close()


NO_LOADER = "!document.querySelector('.mantine-Loader-root')"


async def screen(page: Page, name: str) -> None:
    """A screenshot at each width and axe-core's verdict on each: nothing serious."""
    for width, viewport in WIDTHS.items():
        await page.set_viewport_size(viewport)
        await page.wait_for_load_state("networkidle")
        # Laid out for the new width (a frame or two after the resize), no wider than it.
        try:
            await page.wait_for_function(FITS, timeout=3_000)
        except PlaywrightTimeout:
            wide = await page.evaluate(WIDE_ELEMENTS)
            raise AssertionError(f"{name} is wider than the {width} screen: {wide}") from None
        # The settled screen: no spinner still turning (a button's loader is a passing state).
        with contextlib.suppress(PlaywrightTimeout):
            await page.wait_for_function(NO_LOADER, timeout=5_000)
        await page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
        if not await page.evaluate("typeof window.axe !== 'undefined'"):
            await page.add_script_tag(path=str(AXE))
        result = await page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        serious = [
            f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        assert not serious, f"{name} at {width} width:\n" + "\n".join(serious)
    await page.set_viewport_size(WIDTHS["desktop"])


async def log_in(page: Page, login: str, password: str = PASSWORD) -> None:
    await page.goto("/")
    await expect(page.get_by_role("heading", name="Вход")).to_be_visible()
    await page.get_by_label("Логин").fill(login)
    await page.get_by_label("Пароль").fill(password)
    await page.get_by_role("button", name="Войти").click()


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    """The company's administrator, once catalog knows the company (its hierarchy's root
    is there), so that the operator can give it numbers."""
    headers = bearer(await register(api, company))
    await hierarchy(api, headers)
    return headers


async def test_the_administrator_logs_in_and_sees_the_home_screen(
    page, system, api, company, admin
):
    await give_numbers(system, company.id, ["", ""])
    account = await open_account(system, company.id)
    await pay(system, company.id, account, 123_456)
    pinned = {"pinned": ["blocks", "reports", "hierarchy"], "locale": "ru"}
    assert (await api.put("/api/v1/me/preferences", headers=admin, json=pinned)).status_code == 200

    await page.goto("/")
    await screen(page, "login")
    await log_in(page, spaced(company.main_number))

    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name="Установка и снятие блокировки")).to_be_visible()
    await expect(page.get_by_role("link", name="Отчёты", exact=True)).to_be_visible()
    balances = page.get_by_role("region", name="Баланс лицевых счетов")
    await expect(balances.get_by_text(re.compile(r"^1\s234,56\s₽$"))).to_be_visible()
    await expect(page.get_by_role("heading", name="Результаты операций")).to_be_visible()
    await screen(page, "home")

    await page.get_by_role("link", name="Установка и снятие блокировки").click()
    await expect(page).to_have_url(re.compile(r"/hierarchy"))


async def test_a_wrong_password_shows_the_gateways_detail(page, company, admin):
    await log_in(page, company.main_number, "Not-The-Passw0rd")
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("Неверный логин или пароль")  # the code's title
    await expect(alert).to_contain_text("the login or the password is wrong")  # the detail
    await expect(page.get_by_role("heading", name="Вход")).to_be_visible()


async def test_login_with_a_totp_code_when_two_factor_is_on(page, api, company, admin):
    started = await api.post("/api/v1/me/2fa", headers=admin)
    app = pyotp.TOTP(started.json()["secret"])
    confirmed = await api.post("/api/v1/me/2fa/confirm", headers=admin, json={"code": app.now()})
    assert confirmed.status_code in (200, 204), confirmed.text

    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Код подтверждения")).to_be_visible()
    await screen(page, "login-code")
    # The next step's code: accepted (one step of drift) and not the one used to enrol.
    code = app.at(time.time() + 30)
    await page.get_by_label("Код").first.press_sequentially(code)
    await page.get_by_role("button", name="Подтвердить").click()
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()


async def test_find_a_number_on_the_hierarchy_and_block_it_from_its_card(
    page, system, company, admin
):
    numbers = await give_numbers(system, company.id, [""] * 55)
    wanted = numbers[17]
    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Иерархия").first.click()
    await expect(page.get_by_role("heading", name="Иерархия", level=1)).to_be_visible()

    # Keyset pages of 50: the rest only on request.
    rows = page.get_by_role("table", name="Номера").get_by_role("row")
    await expect(rows).to_have_count(51)
    await screen(page, "hierarchy")
    await page.get_by_role("button", name="Показать ещё").click()
    await expect(rows).to_have_count(56)
    await expect(page.get_by_role("button", name="Показать ещё")).to_have_count(0)

    await page.get_by_label("Поиск").fill(wanted[:9])
    await expect(page.get_by_role("link", name=spaced(wanted))).to_be_visible()
    await page.get_by_label("Поиск").fill(wanted)
    await expect(rows).to_have_count(2)
    await page.get_by_role("link", name=spaced(wanted)).click()

    await expect(page.get_by_role("heading", name=re.compile("Карточка номера"))).to_be_visible()
    await expect(page.get_by_test_id("status")).to_have_text("Активен")
    await screen(page, "number-card")
    await page.get_by_role("button", name="Установить добровольную блокировку").click()
    await expect(page.get_by_test_id("status")).to_have_text("Заблокирован")
    await expect(page.get_by_test_id("blocks")).to_contain_text("добровольная")
    await expect(
        page.get_by_role("button", name="Установить добровольную блокировку")
    ).to_have_count(0)
    await screen(page, "number-card-blocked")

    # It stays blocked (a reload reads it again), and the list's filter finds it.
    await page.reload()
    await expect(page.get_by_test_id("status")).to_have_text("Заблокирован")
    await page.goto("/hierarchy?status=blocked")
    await expect(rows).to_have_count(2)
    await expect(page.get_by_role("link", name=spaced(wanted))).to_be_visible()

    # And the block comes off the same way.
    await page.get_by_role("link", name=spaced(wanted)).click()
    await page.get_by_role("button", name="Снять блокировку: добровольная").click()
    await expect(page.get_by_test_id("status")).to_have_text("Активен")


async def test_a_viewer_sees_no_block_button_and_a_telecom_admin_no_finance(
    page, system, api, company, admin
):
    [msisdn] = await give_numbers(system, company.id, [""])
    await open_account(system, company.id)
    viewer = await create_user(api, admin, roles=["viewer"])
    telecom = await create_user(api, admin, roles=["telecom_admin"])

    await log_in(page, viewer["login"], STAFF_PASSWORD)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await expect(page.get_by_role("heading", name="Баланс лицевых счетов")).to_be_visible()
    await page.goto(f"/numbers/{msisdn}")
    await expect(page.get_by_role("heading", name="Блокировки")).to_be_visible()
    await expect(page.get_by_test_id("status")).to_have_text("Активен")
    await expect(page.get_by_role("button", name=re.compile("блокировк", re.I))).to_have_count(0)
    await expect(page.get_by_role("button", name="Заблокировать при утере")).to_have_count(0)
    await screen(page, "number-card-viewer")

    await page.get_by_role("button", name="Выйти").click()
    await log_in(page, telecom["login"], STAFF_PASSWORD)
    await expect(page.get_by_role("heading", name="Результаты операций")).to_be_visible()
    await expect(page.get_by_role("heading", name="Баланс лицевых счетов")).to_have_count(0)
    await page.goto(f"/numbers/{msisdn}")
    await expect(
        page.get_by_role("button", name="Установить добровольную блокировку")
    ).to_be_visible()


async def test_english_by_the_locale_preference_survives_a_reload(page, api, company, admin):
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.get_by_text("EN", exact=True).click()
    await expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()

    await page.reload()
    await expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name="Hierarchy")).to_be_visible()
    await expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "en"
    await screen(page, "home-en")
    preferences = await api.get("/api/v1/me/preferences", headers=admin)
    assert preferences.json()["locale"] == "en"
