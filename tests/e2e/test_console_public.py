"""«Регистрация», «Забыли пароль?» and «Бланки заявлений» in the console, as a person does
them: the company registers with the SMS and e-mail codes (read here from the
development outbox) and is signed in; a forgotten password is replaced with a code; a
form is downloaded prefilled with the company's details. Every screen photographed at
both widths and checked with axe-core."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.e2e import test_console
from tests.e2e.test_console import log_in, screen, spaced
from tests.e2e.test_identity_flows import latest_code

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin


async def test_register_the_company_with_both_codes(page, api, company):
    await page.goto("/")
    await page.get_by_role("link", name="Регистрация").click()
    start = page.get_by_role("form", name="Регистрация")
    await start.get_by_role("button", name="Получить коды").click()
    await expect(start.get_by_text("Заполните это поле").first).to_be_visible()
    await start.get_by_label("Главный номер предприятия").fill(spaced(company.main_number))
    await start.get_by_label("Контактный e-mail").fill(company.contact_email)
    await screen(page, "register")
    await start.get_by_role("button", name="Получить коды").click()

    confirm = page.get_by_role("form", name="Подтверждение регистрации")
    await expect(confirm.get_by_role("status")).to_contain_text("Коды отправлены")
    await confirm.get_by_label("Код из SMS").fill(await latest_code(api, company.main_number))
    await confirm.get_by_label("Код из письма").fill(await latest_code(api, company.contact_email))
    await confirm.get_by_role("textbox", name="Новый пароль", exact=True).fill("Romashka-Passw0rd")
    await confirm.get_by_label("Новый пароль ещё раз").fill("Romashka-Passw0rd")
    await screen(page, "register-confirm")
    await confirm.get_by_role("button", name="Зарегистрироваться").click()
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()

    await page.get_by_role("button", name="Выйти").click()
    await log_in(page, company.main_number, "Romashka-Passw0rd")
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()


async def test_a_forgotten_password_is_replaced_with_a_code(page, api, company, admin):
    await page.goto("/")
    await page.get_by_role("link", name="Забыли пароль?").click()
    start = page.get_by_role("form", name="Восстановление пароля")
    await start.get_by_label("Логин").fill(company.main_number)
    await screen(page, "password-reset")
    await start.get_by_role("button", name="Получить код").click()

    confirm = page.get_by_role("form", name="Новый пароль")
    await expect(confirm.get_by_role("status")).to_have_text("Код отправлен.")
    await confirm.get_by_label("Код").fill(await latest_code(api, company.main_number))
    await confirm.get_by_role("textbox", name="Новый пароль", exact=True).fill("Reset-Passw0rd-1")
    await confirm.get_by_label("Новый пароль ещё раз").fill("Reset-Passw0rd-1")
    await confirm.get_by_role("button", name="Сменить пароль").click()
    await expect(page.get_by_role("status")).to_contain_text("Пароль изменён")
    await page.get_by_role("link", name="Вернуться ко входу").click()
    await log_in(page, company.main_number, "Reset-Passw0rd-1")
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()


async def test_download_a_form_prefilled_with_the_companys_details(page, company, admin):
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.get_by_role("link", name="Обращения").click()
    await page.get_by_role("link", name="Скачать инструкции и бланки заявлений").click()
    await expect(page.get_by_role("heading", name="Бланки заявлений", level=1)).to_be_visible()
    await expect(page.get_by_text("Заявление на подключение", exact=True)).to_be_visible()
    await screen(page, "forms")
    async with page.expect_download() as downloading:
        await page.get_by_role(
            "button", name="Скачать заполненный бланк: Заявление на подключение", exact=True
        ).click()
    download = await downloading.value
    assert download.suggested_filename == "connection.pdf"
    content = (await download.path()).read_bytes()
    assert content.startswith(b"%PDF")
