"""«Документы и отчёты» and «Результаты операций» in the console, as a person does them: a
report ordered for the whole company, its progress watched to the end and its file
downloaded (fetched with the bearer token, saved as a file); financial documents ordered
for an account; the journal lists both with their files. Every screen photographed at both
widths and checked with axe-core (test_console.screen)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.async_api import expect

from tests.e2e import test_console
from tests.e2e.test_billing import open_account, pay
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_console import log_in, screen

pytestmark = pytest.mark.e2e

# test_console's fixtures: the browser, a page of it, the company's administrator.
browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin


async def test_order_a_report_and_download_it(page, system, api, company, admin):
    numbers = await give_numbers(system, company.id, [""] * 3)
    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Документы и отчёты").first.click()
    await expect(page.get_by_role("heading", name="Документы и отчёты", level=1)).to_be_visible()

    form = page.get_by_role("form", name="Отчёты")
    await form.get_by_label("Отчёт", exact=True).select_option(label="Список номеров")
    await form.get_by_label("Формат").select_option(label="CSV")
    await expect(form.get_by_label("Все номера узла иерархии")).to_be_checked()
    await screen(page, "documents")
    await form.get_by_role("button", name="Сформировать отчёт").click()

    operation = page.get_by_role("region", name=re.compile("^Отчёт"))
    await expect(operation.get_by_test_id("progress")).to_have_text(
        "Выполнено 100 %", timeout=60_000
    )
    await expect(operation.get_by_test_id("operation-status")).to_have_text("Выполнена")
    download_button = operation.get_by_role("button", name=re.compile(r"^Скачать .+\.csv$"))
    await expect(download_button).to_be_visible()
    await screen(page, "documents-report-ready")

    async with page.expect_download() as event:
        await download_button.click()
    download = await event.value
    assert download.suggested_filename.endswith(".csv")
    content = (await download.path()).read_bytes()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Номер"
    assert {row[0] for row in rows[1:]} >= set(numbers)

    # «Результаты операций» has it too, with the same file.
    await page.get_by_role("link", name="Результаты операций").first.click()
    journal = page.get_by_role("table", name="Журнал операций")
    row = journal.get_by_test_id("journal-row").filter(has_text="Список номеров")
    await expect(row).to_have_count(1)
    await expect(row.get_by_test_id("operation-status")).to_have_text("Выполнена")
    await page.get_by_label("Вид операции").select_option(label="Отчёты")
    await expect(journal.get_by_test_id("journal-row")).to_have_count(1)
    await screen(page, "results")
    async with page.expect_download() as again:
        await row.get_by_role("button", name=re.compile(r"^Скачать ")).click()
    assert (await (await again.value).path()).read_bytes() == content


async def test_order_financial_documents_for_an_account(page, system, api, company, admin):
    account = await open_account(system, company.id)
    await pay(system, company.id, account, 50_000)
    number = (await api.get(f"/api/v1/accounts/{account}", headers=admin)).json()["number"]

    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Документы и отчёты").first.click()
    form = page.get_by_role("form", name="Финансовые документы")
    # Nothing chosen: said next to the field, nothing ordered.
    await form.get_by_role("button", name="Заказать документы").click()
    await expect(form.get_by_text("Выберите хотя бы один")).to_be_visible()

    await form.get_by_label(re.compile("^" + re.escape(number))).check()
    await form.get_by_label("Счёт на оплату").check()
    await form.get_by_label("Акт оказанных услуг").check()
    await form.get_by_label("Электронная почта (необязательно)").fill("buh@example.com")
    await form.get_by_role("button", name="Заказать документы").click()

    operation = page.get_by_test_id("operation")
    await expect(operation.get_by_test_id("progress")).to_have_text(
        "Выполнено 100 %", timeout=60_000
    )
    buttons = operation.get_by_role("button", name=re.compile(r"^Скачать .+\.pdf$"))
    await expect(buttons).to_have_count(2)
    await screen(page, "documents-ordered")
    async with page.expect_download() as event:
        await buttons.first.click()
    pdf = (await (await event.value).path()).read_bytes()
    assert pdf.startswith(b"%PDF")
