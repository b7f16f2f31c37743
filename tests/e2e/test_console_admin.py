"""«Управление» in the console, as the company's administrator does it: a custom role
(«Своя роль») made from the permission checkboxes, a new user with a mobile number of their
own (changed, then removed) given that role for one node of the hierarchy, and that user,
logged in, sees only that subtree's numbers on «Иерархия»; an API key whose secret is shown
once, then revoked; the audit log filtered by who; users found by name or by their phone in
any form. Every screen photographed at both widths and checked with axe-core."""

from __future__ import annotations

import re
import secrets

import pytest
from playwright.async_api import expect

from tests.e2e import test_console
from tests.e2e.test_catalog_hierarchy import assignable, three_levels
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_console import log_in, screen, spaced
from tests.e2e.test_identity_users_roles import create_user

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin


async def test_a_custom_role_for_a_node_shows_its_user_only_that_subtree(
    page, system, api, company, admin
):
    nodes = await three_levels(api, admin)
    inside, deeper, outside = await give_numbers(
        system, company.id, [nodes["city"]["id"], nodes["sales"]["id"], nodes["other"]["id"]]
    )
    # Identity learns the nodes from catalog's events: wait for that before the screen.
    helper = await create_user(api, admin)
    await assignable(
        api, admin, helper["id"], [{"role_id": "viewer", "node_id": nodes["city"]["id"]}]
    )

    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Управление").click()
    await expect(page.get_by_role("heading", name="Управление", level=1)).to_be_visible()
    await expect(page.get_by_role("tab", name="Журнал аудита")).to_be_visible()
    await screen(page, "admin-users")

    # «Своя роль»: a name and the checkboxes, grouped by category.
    await page.get_by_role("tab", name="Роли").click()
    await page.get_by_role("button", name="Глобальный администратор").click()
    await expect(page.get_by_role("checkbox", name="Роли", exact=True)).to_be_checked()
    await expect(page.get_by_role("checkbox", name="Роли", exact=True)).to_be_disabled()
    await page.get_by_role("button", name="Своя роль").click()
    role_name = f"Связист Москвы {secrets.token_hex(2)}"
    editor = page.get_by_role("form", name="Своя роль")
    await editor.get_by_label("Название роли").fill(role_name)
    await editor.get_by_role("checkbox", name="Просмотр номеров").check()
    await editor.get_by_role("checkbox", name="Установка и снятие блокировок").check()
    await screen(page, "admin-role")
    await editor.get_by_role("button", name="Создать роль").click()
    await expect(page.get_by_role("button", name=role_name)).to_be_visible()
    await expect(page.get_by_role("heading", name=role_name)).to_be_visible()
    await expect(page.get_by_role("checkbox", name="Просмотр номеров")).to_be_checked()
    await expect(page.get_by_role("checkbox", name="Отправка SMS")).not_to_be_checked()

    # A new user, given that role for «Москва» (and what lies inside it).
    await page.get_by_role("tab", name="Пользователи").click()
    login = f"moscow.{secrets.token_hex(3)}"
    form = page.get_by_role("form", name="Новый пользователь")
    await form.get_by_label("Логин").fill(login)
    await form.get_by_label("ФИО").fill("Петров Пётр Петрович")
    await form.get_by_label("Электронная почта").fill(f"{login}@staff.example")
    await form.get_by_label("Пароль").fill("Moscow-Passw0rd")
    mobile = f"79{secrets.randbelow(10**9):09d}"
    await form.get_by_label("Мобильный телефон").fill(f"8 {mobile[1:4]} {mobile[4:]}")
    await form.get_by_role("button", name="Создать пользователя").click()
    await expect(form.get_by_role("status")).to_contain_text(login)
    users = page.get_by_role("table", name="Пользователи")
    await expect(users.get_by_role("row", name=re.compile(login))).to_contain_text(spaced(mobile))

    # The user's own number (their SMS notices go there): changed, then removed.
    phone = page.get_by_role("form", name=f"Мобильный телефон пользователя {login}")
    await expect(phone.get_by_label("Мобильный телефон")).to_have_value(spaced(mobile))
    await phone.get_by_label("Мобильный телефон").fill("12345")
    await phone.get_by_role("button", name="Сохранить телефон").click()
    await expect(phone.get_by_label("Мобильный телефон")).to_have_attribute("aria-invalid", "true")
    other = f"79{secrets.randbelow(10**9):09d}"
    await phone.get_by_label("Мобильный телефон").fill(f"+7 {other[1:]}")
    await phone.get_by_role("button", name="Сохранить телефон").click()
    await expect(phone.get_by_role("status")).to_have_text("Сохранено.")
    await expect(phone.get_by_label("Мобильный телефон")).to_have_value(spaced(other))
    await expect(users.get_by_role("row", name=re.compile(login))).to_contain_text(spaced(other))
    await phone.get_by_label("Мобильный телефон").fill("")
    await phone.get_by_role("button", name="Сохранить телефон").click()
    await expect(phone.get_by_role("status")).to_have_text("Сохранено.")
    await expect(users.get_by_role("row", name=re.compile(login))).not_to_contain_text(
        spaced(other)
    )

    roles = page.get_by_role("form", name=f"Роли пользователя {login}")
    await roles.get_by_role("button", name="Добавить роль").click()
    await roles.get_by_label("Роль", exact=True).select_option(label=role_name)
    await roles.get_by_label("Узел иерархии").check()
    await roles.get_by_role("button", name="Москва").click()
    await expect(roles.get_by_text("Выберите узел: Москва")).to_be_visible()
    await screen(page, "admin-assignments")
    await roles.get_by_role("button", name="Сохранить роли").click()
    await expect(roles.get_by_role("status")).to_have_text("Сохранено.")
    await expect(users.get_by_role("row", name=re.compile(login))).to_contain_text(
        f"{role_name} — Москва"
    )

    # The audit log shows the administrator's changes.
    await page.get_by_role("tab", name="Журнал аудита").click()
    await expect(page.get_by_role("table", name="Журнал аудита")).to_be_visible()
    await screen(page, "admin-audit")

    # That user sees Москва and what is inside it, and nothing else.
    await page.get_by_role("button", name="Выйти").click()
    await log_in(page, login, "Moscow-Passw0rd")
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await expect(page.get_by_role("link", name="Управление")).to_have_count(0)
    await page.get_by_role("link", name="Иерархия").first.click()
    tree = page.get_by_role("navigation", name="Пользовательская иерархия")
    await expect(tree.get_by_role("button", name=re.compile("^Москва"))).to_be_visible()
    await expect(tree.get_by_role("button", name=re.compile("Северо-Запад"))).to_have_count(0)
    numbers = page.get_by_role("table", name="Номера")
    await expect(numbers.get_by_role("link", name=spaced(inside))).to_be_visible()
    await expect(numbers.get_by_role("link", name=spaced(deeper))).to_be_visible()
    await expect(numbers.get_by_role("link", name=spaced(outside))).to_have_count(0)
    await screen(page, "hierarchy-scoped")


async def test_users_are_found_by_name_or_by_phone_in_any_form(page, api, company, admin):
    mobile = f"79{secrets.randbelow(10**9):09d}"
    olga = await create_user(api, admin, full_name="Кузнецова Ольга Игоревна", phone=mobile)
    igor = await create_user(api, admin, full_name="Соколов Игорь Павлович")

    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Управление").click()
    users = page.get_by_role("table", name="Пользователи")
    search = page.get_by_role("searchbox", name="Поиск пользователей")
    rows = {
        name: users.get_by_role("row", name=re.compile(user["login"]))
        for name, user in (("olga", olga), ("igor", igor))
    }
    await expect(rows["olga"]).to_be_visible()
    await expect(rows["igor"]).to_be_visible()

    await search.fill(f"8 ({mobile[1:4]}) {mobile[4:7]}-{mobile[7:9]}-{mobile[9:]}")
    await expect(rows["igor"]).to_have_count(0)
    await expect(rows["olga"]).to_contain_text(spaced(mobile))
    await screen(page, "admin-users-search")
    await search.fill("соколов")
    await expect(rows["olga"]).to_have_count(0)
    await expect(rows["igor"]).to_be_visible()
    await search.fill("нет такого сотрудника")
    await expect(page.get_by_text("Никого не нашлось")).to_be_visible()
    await expect(users).to_have_count(0)  # no table, the words instead
    await search.fill("")
    await expect(rows["olga"]).to_be_visible()
    await expect(rows["igor"]).to_be_visible()


async def test_an_api_key_is_shown_once_and_revoked(page, api, company, admin):
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.goto("/admin?tab=keys")
    form = page.get_by_role("form", name="Новый API-ключ")
    await form.get_by_label("Название").fill("1С: выгрузка номеров")
    await form.get_by_label("Роль").select_option("viewer")
    await form.get_by_role("button", name="Создать ключ").click()
    secret = await form.get_by_test_id("secret").inner_text()
    assert len(secret) > 20
    table = page.get_by_role("table", name="API-ключи")
    await expect(table.get_by_role("row", name=re.compile("1С: выгрузка номеров"))).to_be_visible()
    await screen(page, "admin-keys")

    page.once("dialog", lambda dialog: dialog.accept())
    await table.get_by_role("button", name="Отозвать ключ 1С: выгрузка номеров").click()
    await expect(table.get_by_role("row", name=re.compile("1С: выгрузка номеров"))).to_have_count(0)
