"""«Финансы» in the console, as an accountant does it: the accounts with their balances,
a transfer of funds from a donor account after which both balances change on the screen,
the statement, a promised payment and the bill delivery address; a viewer sees the
accounts and no button that moves money. Every screen photographed at both widths and
checked with axe-core (test_console.screen)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from tests.e2e import test_console
from tests.e2e.test_billing import open_account, pay
from tests.e2e.test_console import log_in, screen
from tests.e2e.test_identity_users_roles import PASSWORD as STAFF_PASSWORD
from tests.e2e.test_identity_users_roles import create_user

pytestmark = pytest.mark.e2e

# test_console's fixtures: the browser, a page of it, the company's administrator.
browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin


def rubles(text: str) -> re.Pattern[str]:
    """A sum as the console writes it in Russian: "1 000,00 ₽" (with no-break spaces)."""
    return re.compile("^" + text.replace(" ", r"\s") + r"\s₽$")


async def account_numbers(api, headers) -> dict[str, str]:
    response = await api.get("/api/v1/accounts", headers=headers)
    assert response.status_code == 200, response.text
    return {a["id"]: a["number"] for a in response.json()["items"]}


async def test_transfer_from_a_donor_account_and_both_balances_change(
    page, system, api, company, admin
):
    donor = await open_account(system, company.id)
    recipient = await open_account(system, company.id)
    await pay(system, company.id, donor, 100_000)
    numbers = await account_numbers(api, admin)

    await log_in(page, company.main_number)
    await page.get_by_role("link", name="Финансы").first.click()
    await expect(page.get_by_role("heading", name="Финансы", level=1)).to_be_visible()
    donor_card = page.get_by_role("article", name=f"Лицевой счёт {numbers[donor]}")
    recipient_card = page.get_by_role("article", name=f"Лицевой счёт {numbers[recipient]}")
    await expect(donor_card.get_by_test_id("balance")).to_have_text(rubles("1 000,00"))
    await expect(recipient_card.get_by_test_id("balance")).to_have_text(rubles("0,00"))
    await expect(donor_card).to_contain_text("авансовый")
    await screen(page, "finance")

    form = page.get_by_role("form", name="Перенос средств с ЛС донора")
    await form.get_by_label("Счёт-донор").select_option(donor)
    await form.get_by_label("Счёт получателя").select_option(recipient)
    await form.get_by_label("Сумма, ₽").fill("250,50")
    await form.get_by_role("button", name="Перенести средства").click()
    await expect(form.get_by_role("status")).to_contain_text(
        f"со счёта {numbers[donor]} на счёт {numbers[recipient]}"
    )
    await expect(donor_card.get_by_test_id("balance")).to_have_text(rubles("749,50"))
    await expect(recipient_card.get_by_test_id("balance")).to_have_text(rubles("250,50"))
    await screen(page, "finance-transferred")

    # More than the donor has: the gateway's word, and nothing moves.
    await form.get_by_label("Счёт-донор").select_option(donor)
    await form.get_by_label("Счёт получателя").select_option(recipient)
    await form.get_by_label("Сумма, ₽").fill("5000")
    await form.get_by_role("button", name="Перенести средства").click()
    await expect(form.get_by_role("alert")).to_contain_text("Недостаточно средств")
    await expect(donor_card.get_by_test_id("balance")).to_have_text(rubles("749,50"))

    # The recipient's statement shows the transfer; a promised payment; bill delivery.
    await recipient_card.get_by_role("button", name=re.compile("Выписка и настройки")).click()
    statement = page.get_by_role("table", name="Выписка по счёту")
    await expect(statement.get_by_role("row", name=re.compile("Перенос средств"))).to_have_count(1)
    await expect(statement).to_contain_text("250,50")

    await page.get_by_role(
        "button", name=re.compile("Выписка и настройки счёта " + numbers[donor])
    ).click()
    promised = page.get_by_role("region", name="Обещанный платёж")
    await promised.get_by_label("Сумма, ₽").fill("100")
    await promised.get_by_role("button", name="Взять обещанный платёж").click()
    await expect(promised.get_by_test_id("promise")).to_contain_text("действует")
    await expect(donor_card.get_by_test_id("balance")).to_have_text(rubles("849,50"))

    delivery = page.get_by_role("form", name="Адрес доставки счетов")
    await delivery.get_by_label("Адрес электронной почты").fill("buh@example.com")
    await delivery.get_by_role("button", name="Сохранить").click()
    await expect(delivery.get_by_role("status")).to_have_text("Сохранено.")
    await screen(page, "finance-account")
    saved = await api.get(f"/api/v1/accounts/{donor}", headers=admin)
    assert saved.json()["bill_delivery"] == {"method": "email", "address": "buh@example.com"}

    threshold = page.get_by_role("form", name="Порог баланса")
    await threshold.get_by_label("Порог, ₽").fill("пятьсот")
    await threshold.get_by_role("button", name="Сохранить").click()
    await expect(threshold.get_by_text("Сумма в рублях")).to_be_visible()
    await threshold.get_by_label("Порог, ₽").fill("500,50")
    await threshold.get_by_role("button", name="Сохранить").click()
    await expect(threshold.get_by_role("status")).to_contain_text("500,50")
    saved = await api.get(f"/api/v1/accounts/{donor}", headers=admin)
    assert saved.json()["low_balance_threshold"] == {"amount": 50_050, "currency": "RUB"}


async def test_a_viewer_sees_the_accounts_and_no_button_that_moves_money(
    page, system, api, company, admin
):
    donor = await open_account(system, company.id)
    await open_account(system, company.id)
    await pay(system, company.id, donor, 50_000)
    viewer = await create_user(api, admin, roles=["viewer"])

    await log_in(page, viewer["login"], STAFF_PASSWORD)
    await page.get_by_role("link", name="Финансы").first.click()
    await expect(page.get_by_test_id("balance")).to_have_count(2)
    await expect(page.get_by_role("form", name="Перенос средств с ЛС донора")).to_have_count(0)
    await page.get_by_role("button", name=re.compile("Выписка и настройки")).first.click()
    await expect(
        page.get_by_role("table", name="Выписка по счёту").or_(
            page.get_by_text("За этот период операций по счёту нет.")
        )
    ).to_be_visible()
    await expect(page.get_by_role("button", name="Взять обещанный платёж")).to_have_count(0)
    await expect(page.get_by_role("button", name="Изменить метод")).to_have_count(0)
    await expect(page.get_by_role("button", name="Сохранить")).to_have_count(0)
    await screen(page, "finance-viewer")
