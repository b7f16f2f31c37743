"""«Массовые операции» and SMS in the console, as a person does them: a whole subtree of the
hierarchy blocked with a dry run first (nothing changes until the real run), the progress
watched to 100 %; numbers chosen with checkboxes on «Иерархия» get an SMS; the tariff's
settings on the card read as the tariff names them. Every screen photographed at both
widths and checked with axe-core (test_console.screen)."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.async_api import expect

from tests.e2e import test_console
from tests.e2e.test_billing import number_card
from tests.e2e.test_catalog_bulk_operations import sms_to
from tests.e2e.test_catalog_hierarchy import three_levels
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_console import log_in, screen, spaced

pytestmark = pytest.mark.e2e

# test_console's fixtures: the browser, a page of it, the company's administrator.
browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin


async def statuses(api, headers, msisdns: list[str]) -> set[str]:
    return {(await number_card(api, headers, m))["status"] for m in msisdns}


async def test_block_a_subtree_with_a_dry_run_first_and_watch_the_progress(
    page, system, api, company, admin
):
    tree = await three_levels(api, admin)
    inside = await give_numbers(system, company.id, [tree["sales"]["id"]] * 3)
    inside += await give_numbers(system, company.id, [tree["city"]["id"]] * 2)
    outside = await give_numbers(system, company.id, ["", tree["other"]["id"]])

    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Иерархия").first.click()
    await page.get_by_role("button", name=re.compile("^Центральный регион")).click()
    await expect(page.get_by_role("heading", name="Номера: Центральный регион")).to_be_visible()
    await page.get_by_role("button", name="Операция для всего узла").click()

    await expect(page.get_by_role("heading", name="Массовые операции", level=1)).to_be_visible()
    await expect(page.get_by_label("Все номера узла иерархии")).to_be_checked()
    await expect(page.get_by_label("Узел иерархии")).to_have_value(tree["region"]["id"])
    await page.get_by_label("Операция", exact=True).select_option(label="Установка блокировки")
    await page.get_by_label("Вид блокировки").select_option(label="добровольная")
    # The real run waits for the dry run.
    await expect(page.get_by_role("button", name="Выполнить")).to_be_disabled()
    await screen(page, "bulk")

    await page.get_by_role("button", name="Пробный запуск").click()
    dry_run = page.get_by_role("region", name="Пробный запуск: Установка блокировки")
    await expect(dry_run.get_by_test_id("progress")).to_have_text("Выполнено 100 %")
    results = dry_run.get_by_role("table", name="Результаты по номерам")
    await expect(results.get_by_role("row")).to_have_count(6)
    await expect(results.get_by_text("Изменится")).to_have_count(5)
    for msisdn in inside:
        await expect(results.get_by_role("link", name=spaced(msisdn))).to_be_visible()
    await expect(page.get_by_text(re.compile("Ничего не изменено"))).to_be_visible()
    assert await statuses(api, admin, inside) == {"active"}  # a dry run changes nothing
    await screen(page, "bulk-dry-run")

    await page.get_by_role("button", name="Выполнить").click()
    await expect(page).to_have_url(re.compile(r"/operations/[^/?]+$"))
    operation = page.get_by_role("region", name="Установка блокировки")
    bar = operation.get_by_role("progressbar", name="Выполнение: Установка блокировки")
    await expect(bar).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    await expect(operation.get_by_test_id("progress")).to_have_text("Выполнено 100 %")
    await expect(operation.get_by_test_id("operation-status")).to_have_text("Выполнена")
    await expect(operation.get_by_test_id("total")).to_have_text("5")
    await expect(operation.get_by_test_id("done")).to_have_text("5")
    await expect(operation.get_by_test_id("failed")).to_have_text("0")
    rows = operation.get_by_role("table", name="Результаты по номерам").get_by_role("row")
    await expect(rows).to_have_count(6)
    await screen(page, "bulk-progress")
    assert await statuses(api, admin, inside) == {"blocked"}
    assert await statuses(api, admin, outside) == {"active"}

    # «Результаты операций» lists it (and the dry run), with its progress.
    await page.get_by_role("link", name="Результаты операций").first.click()
    journal = page.get_by_role("table", name="Журнал операций")
    await expect(journal.get_by_role("link", name="Установка блокировки")).to_have_count(2)
    await expect(journal.get_by_text("пробный запуск", exact=False)).to_have_count(1)


async def test_numbers_chosen_on_the_hierarchy_get_an_sms(page, system, api, company, admin):
    numbers = await give_numbers(system, company.id, [""] * 4)
    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Иерархия").first.click()
    table = page.get_by_role("table", name="Номера")
    await expect(table.get_by_role("row")).to_have_count(5)

    # Everything on the page, then one taken off again.
    await page.get_by_label("Выбрать все номера на странице").check()
    await expect(page.get_by_text("Выбрано номеров: 4")).to_be_visible()
    await page.get_by_label(f"Выбрать номер {spaced(numbers[3])}").uncheck()
    await expect(page.get_by_text("Выбрано номеров: 3")).to_be_visible()
    await screen(page, "hierarchy-selection")
    await page.get_by_role("button", name="Массовая операция").click()

    await page.get_by_role("tab", name="Отправка SMS").click()
    await expect(page.get_by_label("Выбранные номера (3)")).to_be_checked()
    chosen = await page.get_by_label("Номера", exact=True).input_value()
    assert sorted(chosen.splitlines()) == sorted(spaced(m) for m in numbers[:3])
    text = f"Собрание в 15:00 — {secrets.token_hex(3)}"
    await page.get_by_label("Текст сообщения").fill(text)
    await screen(page, "sms")
    await page.get_by_role("button", name="Отправить").click()

    operation = page.get_by_role("region", name="Отправка SMS")
    await expect(operation.get_by_test_id("progress")).to_have_text(
        "Выполнено 100 %", timeout=60_000
    )
    await expect(operation.get_by_test_id("operation-status")).to_have_text("Выполнена")
    await expect(operation.get_by_test_id("done")).to_have_text("3")
    await screen(page, "sms-progress")
    for msisdn in numbers[:3]:
        assert [m["text"] for m in await sms_to(api, msisdn)] == [text]
    assert await sms_to(api, numbers[3]) == []


async def test_the_card_shows_the_tariffs_setting_titles_and_wraps_long_buttons(
    page, system, api, company, admin
):
    [msisdn] = await give_numbers(system, company.id, [""])
    card = await number_card(api, admin, msisdn)
    keys = list(card["tariff"]["settings"])
    tariff = (await api.get(f"/api/v1/tariffs/{card['tariff']['id']}", headers=admin)).json()
    titles = {s["key"]: s["title"] for s in tariff["settings"]}

    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.goto(f"/numbers/{msisdn}")
    settings = page.get_by_role("region", name="Тарифный план")
    for key in keys:
        await expect(settings.get_by_role("rowheader", name=titles[key])).to_be_visible()
        await expect(settings.get_by_role("rowheader", name=key, exact=True)).to_have_count(0)
    for key, value in card["tariff"]["settings"].items():
        if value in ("true", "false"):
            row = settings.get_by_role("row", name=titles[key])
            await expect(row).to_contain_text("да" if value == "true" else "нет")
    # On a phone the long label wraps inside the screen (screen() fails on any overflow).
    await page.set_viewport_size({"width": 390, "height": 844})
    button = page.get_by_role("button", name="Установить добровольную блокировку")
    box = await button.bounding_box()
    assert box and box["x"] + box["width"] <= 390
    await screen(page, "number-card-settings")
