"""The console in English beyond its first screen: switched to English, an administrator
walks «Иерархия» (and its editing dialog), a number's card and «Финансы» with an account's
statement, and no text of the console's own Russian strings (web/src/locales/ru.ts) is left
on any of them — only the company's own data (names of nodes, tariffs) stays as it is."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.e2e import test_console
from tests.e2e.test_billing import open_account, pay
from tests.e2e.test_catalog_hierarchy import three_levels
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_console import log_in, screen, spaced
from tests.support.servers import ROOT

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin

RU = ROOT / "web" / "src" / "locales" / "ru.ts"
PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")


def russian_fragments() -> set[str]:
    """The Russian pieces of the console's strings (between their {{placeholders}}) long
    enough to be telling: a word of data never matches one by chance."""
    values = re.findall(r'^\s+\w+: "((?:[^"\\]|\\.)*)",?$', RU.read_text(), re.MULTILINE)
    fragments = set()
    for value in values:
        for piece in PLACEHOLDER.split(value):
            piece = piece.strip(" .,:;—-«»()")
            if len(piece) >= 5 and re.search("[а-яё]{3}", piece, re.IGNORECASE):
                fragments.add(piece)
    return fragments


FRAGMENTS = russian_fragments()

# Text the console shows or says: the page's text, and the names and hints of its
# controls (aria-label, placeholder, title, alt).
SHOWN_TEXT = """() => [document.body.innerText,
  ...[...document.querySelectorAll('[aria-label],[placeholder],[title],[alt]')].flatMap(e =>
     ['aria-label', 'placeholder', 'title', 'alt'].map(a => e.getAttribute(a) || ''))
].join('\\n')"""


async def company_data(api, headers) -> list[str]:
    """The company's own names (nodes, tariffs, services, accounts), longest first: they
    stay in Russian and are taken out of the text before it is searched."""
    names = [
        n["name"] for n in (await api.get("/api/v1/hierarchy", headers=headers)).json()["nodes"]
    ]
    for path in ("/api/v1/tariffs", "/api/v1/services", "/api/v1/accounts"):
        items = (await api.get(path, headers=headers, params={"page_size": 100})).json()["items"]
        names += [item.get("name") or "" for item in items]
    return sorted({n for n in names if n}, key=len, reverse=True)


async def russian_left(page: Page, data: list[str]) -> list[str]:
    """The console's Russian strings the page still shows (the company's data aside)."""
    await page.wait_for_load_state("networkidle")
    text = await page.evaluate(SHOWN_TEXT)
    for name in data:
        text = text.replace(name, " ")
    return sorted(f for f in FRAGMENTS if f in text)


async def no_russian_left(page: Page, where: str, data: list[str]) -> None:
    left = await russian_left(page, data)
    assert not left, f"{where}: Russian strings of the console left in English: {left}"


async def test_english_through_the_hierarchy_a_number_card_and_finance(
    page, system, api, company, admin
):
    assert len(FRAGMENTS) > 300  # the locale file was read
    nodes = await three_levels(api, admin)
    [msisdn, _] = await give_numbers(system, company.id, [nodes["sales"]["id"], ""])
    accounts = [await open_account(system, company.id) for _ in range(2)]
    await pay(system, company.id, accounts[0], 250_000)

    data = await company_data(api, admin)

    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    assert len(await russian_left(page, data)) > 5  # in Russian, the check finds them
    await page.get_by_text("EN", exact=True).click()
    await expect(page.get_by_role("heading", name="Home", level=1)).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "en"
    await no_russian_left(page, "Home", data)

    # «Иерархия»: the tree, the numbers of a node, the dialog that adds a node.
    await page.get_by_role("link", name="Hierarchy").first.click()
    await expect(page.get_by_role("heading", name="Hierarchy", level=1)).to_be_visible()
    tree = page.get_by_role("navigation", name="Custom hierarchy")
    await tree.get_by_role("button", name=re.compile("^Отдел продаж")).click()
    await expect(page.get_by_role("heading", name="Numbers: Отдел продаж")).to_be_visible()
    await expect(page.get_by_role("link", name=spaced(msisdn))).to_be_visible()
    await no_russian_left(page, "Hierarchy", data)
    await screen(page, "hierarchy-en")
    await page.get_by_role("button", name="Add a node to «Отдел продаж»").click()
    dialog = page.get_by_role("dialog", name="New node in «Отдел продаж»")
    await dialog.get_by_role("button", name="Create the node").click()
    await expect(dialog.get_by_text("Fill in this field")).to_be_visible()
    await no_russian_left(page, "the new node's dialog", data)
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)

    # A number's card, every section of it.
    await page.get_by_role("link", name=spaced(msisdn)).click()
    await expect(
        page.get_by_role("heading", name=f"Number card: {spaced(msisdn)}", level=1)
    ).to_be_visible()
    await expect(page.get_by_test_id("status")).to_have_text("Active")
    await no_russian_left(page, "the number card", data)
    await screen(page, "number-card-en")

    # «Финансы»: the accounts, one account's statement and settings.
    await page.get_by_role("link", name="Finance").first.click()
    await expect(page.get_by_role("heading", name="Finance", level=1)).to_be_visible()
    await page.get_by_role("button", name=re.compile("^Statement and settings")).first.click()
    await expect(page).to_have_url(re.compile(r"account="))
    await page.wait_for_load_state("networkidle")
    await no_russian_left(page, "Finance", data)
    await screen(page, "finance-en")
