"""«Обращения» in the console, as a person does it: a new ticket about a number, found in
the list by its filters; opened with its history; a comment and a file attached (both in
the history, the file downloadable); closed and reopened. Every screen photographed at
both widths and checked with axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e import test_console
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_console import log_in, screen, spaced

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def test_open_a_ticket_attach_a_file_and_see_it_in_the_history(page, system, company, admin):
    [msisdn] = await give_numbers(system, company.id, [""])
    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Обращения").click()
    await expect(page.get_by_role("heading", name="Обращения", level=1)).to_be_visible()
    await expect(page.get_by_text("Обращений не найдено.")).to_be_visible()

    form = page.get_by_role("form", name="Новое обращение")
    await form.get_by_role("button", name="Отправить обращение").click()
    await expect(form.get_by_text("Заполните это поле").first).to_be_visible()
    await form.get_by_label("Категория").select_option("technical")
    await form.get_by_label("Тема").fill("Нет связи в офисе на Тверской")
    await form.get_by_label("Текст обращения").fill("С утра номер не принимает звонки")
    await form.get_by_label("Номера").fill(spaced(msisdn))
    await screen(page, "tickets")
    await form.get_by_role("button", name="Отправить обращение").click()

    await expect(
        page.get_by_role("heading", name="Нет связи в офисе на Тверской", level=1)
    ).to_be_visible()
    await expect(page.get_by_test_id("ticket-status")).to_have_text("Открыто")
    await expect(page.get_by_role("link", name=spaced(msisdn))).to_be_visible()
    history = page.get_by_test_id("history")
    await expect(history).to_contain_text("С утра номер не принимает звонки")

    comment = page.get_by_role("form", name="Комментарий")
    await comment.get_by_label("Текст комментария").fill("Проблема на всех номерах отдела")
    await comment.get_by_role("button", name="Отправить").click()
    await expect(history).to_contain_text("Проблема на всех номерах отдела")

    attach = page.get_by_role("form", name="Приложить файл")
    await attach.locator("input[type=file]").set_input_files(
        {"name": "схема-офиса.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await attach.get_by_role("button", name="Приложить").click()
    await expect(attach.get_by_role("status")).to_contain_text("схема-офиса.pdf")
    file_link = history.get_by_role("button", name="Скачать схема-офиса.pdf")
    await expect(file_link).to_be_visible()
    await screen(page, "ticket")
    async with page.expect_download() as downloading:
        await file_link.click()
    download = await downloading.value
    assert download.suggested_filename == "схема-офиса.pdf"
    assert (await download.path()).read_bytes() == PDF

    # Close, and open again.
    await page.get_by_role("button", name="Закрыть обращение").click()
    await expect(page.get_by_test_id("ticket-status")).to_have_text("Закрыто")
    await expect(page.get_by_role("form", name="Комментарий")).to_have_count(0)
    await page.get_by_role("button", name="Открыть снова").click()
    await expect(page.get_by_test_id("ticket-status")).not_to_have_text("Закрыто")

    # The list finds it by its number and category, and not by another category.
    await page.get_by_role("link", name="К списку обращений").click()
    tickets = page.get_by_role("table", name="Обращения компании")
    await page.get_by_label("Номер", exact=True).fill(msisdn)
    await expect(tickets.get_by_role("link", name="Нет связи в офисе на Тверской")).to_be_visible()
    filters = page.get_by_role("region", name="Обращения компании")
    await filters.get_by_label("Категория").select_option("billing")
    await expect(page.get_by_text("Обращений не найдено.")).to_be_visible()
    await filters.get_by_label("Категория").select_option("technical")
    await expect(tickets.get_by_role("row", name=re.compile("Тверской"))).to_contain_text(
        "Техническая проблема"
    )
