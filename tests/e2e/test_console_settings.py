"""«Мои настройки» and the home screen's order in the console, as a person does it: the
pinned functions arranged on «Главная» and still so after a reload; functions chosen in
the settings; two-factor login turned on from the QR code's otpauth URI (the code
computed here with pyotp) and turned off; the password
changed and the new one logging in. Every screen photographed at both widths and checked
with axe-core."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.async_api import expect

from tests.e2e import test_console
from tests.e2e.test_console import log_in, screen

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin


async def pinned_names(page) -> list[str]:
    return await page.get_by_test_id("pinned").get_by_role("link").all_inner_texts()


async def test_arrange_the_home_screen_and_see_it_after_a_reload(page, api, company, admin):
    pinned = {"pinned": ["blocks", "reports", "hierarchy"], "locale": "ru"}
    assert (await api.put("/api/v1/me/preferences", headers=admin, json=pinned)).status_code == 200
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()

    await page.get_by_role("button", name="Упорядочить").click()
    await page.get_by_role("button", name="Ниже: Установка и снятие блокировки").click()
    await page.get_by_role("button", name="Выше: Иерархия").click()
    await expect(page.get_by_test_id("pinned").get_by_role("listitem")).to_have_text(
        [re.compile("^Отчёты"), re.compile("^Иерархия"), re.compile("^Установка и снятие")]
    )
    await screen(page, "home-arrange")
    await page.get_by_role("button", name="Готово").click()

    await page.reload()
    await expect(page.get_by_test_id("pinned").get_by_role("link")).to_have_text(
        ["Отчёты", "Иерархия", "Установка и снятие блокировки"]
    )
    stored = (await api.get("/api/v1/me/preferences", headers=admin)).json()["pinned"]
    assert stored == ["reports", "hierarchy", "blocks"]

    # More functions are chosen in «Мои настройки».
    await page.get_by_role("link", name="Выбрать функции").click()
    await expect(page.get_by_role("heading", name="Мои настройки", level=1)).to_be_visible()
    form = page.get_by_role("form", name="Функции на главной странице")
    await form.get_by_role("checkbox", name="Отправка SMS").check()
    await form.get_by_role("checkbox", name="Отчёты").uncheck()
    await form.get_by_role("button", name="Сохранить").click()
    await expect(form.get_by_role("status")).to_have_text("Сохранено.")
    await page.get_by_role("link", name="Главная").click()
    await expect(page.get_by_test_id("pinned").get_by_role("link")).to_have_text(
        ["Иерархия", "Установка и снятие блокировки", "Отправка SMS"]
    )


async def test_turn_on_two_factor_login_from_the_qr_code_and_off_again(page, company, admin):
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.get_by_role("link", name="Мои настройки").click()
    form = page.get_by_role("form", name="Вход с кодом подтверждения")
    await expect(form.get_by_test_id("two-factor-state")).to_contain_text("Выключен")
    await form.get_by_role("button", name="Включить").click()
    await expect(
        form.get_by_role("img", name="QR-код для приложения-аутентификатора")
    ).to_be_visible()
    await screen(page, "settings-2fa")

    uri = await form.get_by_test_id("otpauth").get_attribute("href")
    app = pyotp.parse_uri(uri)
    assert await form.get_by_test_id("secret").inner_text() == app.secret
    await form.get_by_label("Код").fill("000000" if app.now() != "000000" else "111111")
    await form.get_by_role("button", name="Подтвердить").click()
    await expect(form.get_by_label("Код")).to_have_attribute("aria-invalid", "true")
    await form.get_by_label("Код").fill(app.now())
    await form.get_by_role("button", name="Подтвердить").click()
    await expect(form.get_by_role("status")).to_have_text("Вход с кодом подтверждения включён.")
    await expect(form.get_by_test_id("two-factor-state")).to_contain_text("Включён")

    # Off again with the next code (the login with a code: test_console).
    await form.get_by_label("Код").fill(app.at(time.time() + 30))
    await form.get_by_role("button", name="Выключить").click()
    await expect(form.get_by_test_id("two-factor-state")).to_contain_text("Выключен")


async def test_change_the_password_and_log_in_with_the_new_one(page, company, admin):
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.get_by_role("link", name="Мои настройки").click()
    form = page.get_by_role("form", name="Пароль")
    await form.get_by_label("Текущий пароль").fill(test_console.PASSWORD)
    await form.get_by_label("Новый пароль", exact=True).fill("New-Passw0rd-2026")
    await form.get_by_label("Новый пароль ещё раз").fill("New-Passw0rd-2027")
    await form.get_by_role("button", name="Сменить пароль").click()
    await expect(form.get_by_text("Пароли не совпадают")).to_be_visible()
    await form.get_by_label("Новый пароль ещё раз").fill("New-Passw0rd-2026")
    await form.get_by_role("button", name="Сменить пароль").click()
    await expect(form.get_by_role("status")).to_have_text("Пароль изменён.")
    await screen(page, "settings")

    await page.get_by_role("button", name="Выйти").click()
    await log_in(page, company.main_number, "New-Passw0rd-2026")
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
