"""«Карточка номера»'s single-number operations in the console, as an administrator does
them: a change of tariff plan, a service connected, a limit set, call forwarding, the
number's label — all still on the card after a reload; a viewer is offered none of them.
Every screen photographed at both widths and checked with axe-core."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e import test_console
from tests.e2e.test_billing import open_account
from tests.e2e.test_catalog_catalogue import (
    a_service,
    a_tariff,
    define_service,
    define_tariff,
    unique,
)
from tests.e2e.test_catalog_numbers import (
    fresh_iccid,
    fresh_msisdn,
    give_numbers,
    number_admin,
)
from tests.e2e.test_console import log_in, screen, spaced
from tests.e2e.test_identity_users_roles import PASSWORD as STAFF_PASSWORD
from tests.e2e.test_identity_users_roles import create_user
from vm.catalog.v1 import numbers_pb2 as pb

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin


async def test_change_the_tariff_connect_a_service_set_a_limit_and_see_them_after_a_reload(
    page, system, api, company, admin
):
    tariff_name = f"Бизнес Макс {unique('t')[-4:]}"
    tariff = await define_tariff(system, a_tariff(unique("tariff_console"), name=tariff_name))
    service_name = f"Интернет+ {unique('s')[-4:]}"
    service = await define_service(system, a_service(unique("service_console"), name=service_name))
    [msisdn] = await give_numbers(system, company.id, [""])

    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.goto(f"/numbers/{msisdn}")
    await expect(page.get_by_role("heading", name=re.compile("Карточка номера"))).to_be_visible()
    await screen(page, "number-card-operations")

    form = page.get_by_role("form", name="Смена тарифного плана")
    await form.get_by_label("Новый тарифный план").select_option(tariff.id)
    await form.get_by_role("button", name="Сменить тариф").click()
    await expect(form.get_by_role("status")).to_contain_text(tariff_name)
    await expect(page.get_by_test_id("tariff")).to_have_text(tariff_name)

    connect = page.get_by_role("form", name="Подключение услуги")
    await connect.get_by_label("Услуга").select_option(service.id)
    await connect.get_by_role("button", name="Подключить").click()
    await expect(page.get_by_test_id("services")).to_contain_text(service_name)

    limit = page.get_by_role("form", name="Установить лимит")
    await limit.get_by_label("Вид лимита").select_option("data")
    await limit.get_by_label("Сумма лимита, ₽").fill("1500")
    await limit.get_by_label("При достижении лимита").select_option("block")
    await limit.get_by_role("button", name="Установить лимит").click()
    limits = page.get_by_role("table", name="Лимиты")
    data_limit = limits.get_by_role("row", name=re.compile("Мобильный интернет"))
    await expect(data_limit).to_contain_text(re.compile(r"1\s500,00\s₽, заблокировать номер"))

    forwarding = page.get_by_role("form", name="Установить переадресацию")
    await forwarding.get_by_label("Условие переадресации").select_option("busy")
    await forwarding.get_by_label("Номер для переадресации").fill("+7 916 000-00-01")
    await forwarding.get_by_role("button", name="Установить переадресацию").click()
    await expect(page.get_by_test_id("forwarding")).to_contain_text("79160000001")

    notes = page.get_by_role("form", name="Метка, комментарий и центр затрат")
    await notes.get_by_label("Метка", exact=True).fill("Курьер Иванов")
    await notes.get_by_role("button", name="Сохранить").click()
    await expect(notes.get_by_role("status")).to_have_text("Сохранено.")
    await screen(page, "number-card-changed")

    await page.reload()
    await expect(page.get_by_test_id("tariff")).to_have_text(tariff_name)
    await expect(page.get_by_test_id("services")).to_contain_text(service_name)
    await expect(limits.get_by_role("row", name=re.compile("Мобильный интернет"))).to_be_visible()
    await expect(page.get_by_test_id("forwarding")).to_contain_text("Если занято")
    await expect(notes.get_by_label("Метка", exact=True)).to_have_value("Курьер Иванов")

    # The tariff's own settings.
    settings = page.get_by_role("form", name="Настройки тарифного плана")
    await settings.get_by_label("Пакет минут").fill("1000")
    await settings.get_by_role("button", name="Сохранить настройки").click()
    await expect(settings.get_by_role("status")).to_have_text("Сохранено.")
    general = page.get_by_role("region", name="Тарифный план")
    await expect(general.get_by_role("row", name=re.compile("Пакет минут"))).to_contain_text(
        re.compile(r"1\s000")
    )

    # The limit and the service come off the same way.
    await limits.get_by_role("button", name="Удалить лимит: Мобильный интернет").click()
    await expect(page.get_by_text("Лимиты не установлены.")).to_be_visible()
    await page.get_by_role("button", name=f"Отключить услугу {service_name}").click()
    await expect(page.get_by_test_id("services")).to_have_count(0)


async def test_a_viewer_is_offered_none_of_the_operations(page, system, api, company, admin):
    [msisdn] = await give_numbers(system, company.id, [""])
    viewer = await create_user(api, admin, roles=["viewer"])
    await log_in(page, viewer["login"], STAFF_PASSWORD)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.goto(f"/numbers/{msisdn}")
    await expect(page.get_by_role("heading", name="Лимиты")).to_be_visible()
    for name in (
        "Смена тарифного плана",
        "Подключение услуги",
        "Установить лимит",
        "Установить переадресацию",
        "Метка, комментарий и центр затрат",
    ):
        await expect(page.get_by_role("form", name=name)).to_have_count(0)


async def test_replace_the_sim_move_the_number_to_another_account_and_replace_the_number(
    page, system, api, company, admin
):
    [msisdn] = await give_numbers(system, company.id, [""])
    await open_account(system, company.id)
    await open_account(system, company.id)
    iccid = fresh_iccid()
    free = pb.FreeNumber(msisdn=fresh_msisdn(), iccid=fresh_iccid())
    await number_admin(system, "AddFreeNumbers", pb.AddFreeNumbersRequest(numbers=[free]))

    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.goto(f"/numbers/{msisdn}")
    await expect(page.get_by_role("heading", name="Расходы за период")).to_be_visible()

    sim = page.get_by_role("form", name="Замена SIM-карты")
    await sim.get_by_label("Номер новой SIM-карты (ICCID)").fill("8970199123456789011")
    await sim.get_by_role("button", name="Замена SIM-карты").click()
    # A wrong check digit: refused, said next to the field.
    await expect(sim.get_by_label("Номер новой SIM-карты (ICCID)")).to_have_attribute(
        "aria-invalid", "true"
    )
    await sim.get_by_label("Номер новой SIM-карты (ICCID)").fill(iccid)
    await sim.get_by_role("button", name="Замена SIM-карты").click()
    await expect(sim.get_by_role("status")).to_contain_text(iccid)

    move = page.get_by_role("form", name="Перенос номера на другой лицевой счёт")
    accounts = (await api.get("/api/v1/accounts", headers=admin)).json()["items"]
    card = (await api.get(f"/api/v1/numbers/{msisdn}", headers=admin)).json()
    target = next(a for a in accounts if a["id"] != card["account_id"])
    await move.get_by_label("Перенести на лицевой счёт").select_option(target["id"])
    await move.get_by_role("button", name="Перенести").click()
    await expect(move.get_by_role("status")).to_contain_text(target["number"])
    await expect(page.get_by_role("region", name="Лицевой счёт")).to_contain_text(target["number"])
    await screen(page, "number-card-replaced-sim")

    replace = page.get_by_role("form", name="Замена номера")
    await replace.get_by_label("Новый номер (необязательно)").fill(spaced(free.msisdn))
    page.once("dialog", lambda dialog: dialog.accept())
    await replace.get_by_role("button", name="Замена номера").click()
    await expect(page).to_have_url(re.compile(f"/numbers/{free.msisdn}$"))
    # The new number's card, not the old one still on the screen for a moment after the
    # address changed (with its notice of the SIM replaced, which names the ICCID too).
    new_card = re.compile(f"Карточка номера: {re.escape(spaced(free.msisdn))}")
    await expect(page.get_by_role("heading", name=new_card)).to_be_visible()
    await expect(page.get_by_text(iccid)).to_be_visible()
