"""Webhooks, automation rules and notification preferences in the console, as people do it:
the administrator makes a webhook endpoint to a receiver of this test (plain HTTP on the
loopback, allowed in development), sees its secret once, sends the test event and sees it
delivered — and signed with that secret; makes an automation rule with a block action and
a condition, a condition that does not parse said under its field; a viewer is offered no
«Вебхуки» and turns off e-mail for a kind of notification in «Мои настройки», still off
after a reload. Every screen photographed at both widths and checked with axe-core."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.async_api import expect
from standardwebhooks import Webhook

from tests.e2e import test_console
from tests.e2e.test_console import log_in, screen
from tests.e2e.test_identity_users_roles import PASSWORD as STAFF_PASSWORD
from tests.e2e.test_identity_users_roles import create_user, login_as

pytestmark = pytest.mark.e2e

browser = test_console.browser
console_build = test_console.console_build
page = test_console.page
admin = test_console.admin

DELIVERED_WITHIN_MS = 45_000


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: every POST kept (its headers and body), 200 back."""

    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    kept: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            kept.append(({k.lower(): v for k, v in self.headers.items()}, body))
            answer = b'{"received": true}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_address[1]}/hooks/vm", kept)
    finally:
        server.shutdown()
        server.server_close()


async def test_a_webhook_shows_its_secret_once_and_the_test_event_is_delivered(
    page, api, company, admin, receiver
):
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.get_by_role("link", name="Управление").click()
    await page.get_by_role("tab", name="Вебхуки").click()
    await expect(page.get_by_text("Вебхуков пока нет.")).to_be_visible()

    await page.get_by_role("button", name="Новый вебхук").click()
    form = page.get_by_role("form", name="Новый вебхук")
    # Nothing chosen: said under the fields, nothing asked of the gateway.
    await form.get_by_role("button", name="Создать вебхук").click()
    await expect(form.get_by_label("Адрес (URL)")).to_have_attribute("aria-invalid", "true")
    await form.get_by_label("Адрес (URL)").fill(receiver.url)
    await form.get_by_label("Описание (необязательно)").fill("CRM")
    await form.get_by_role("checkbox", name="Номер заблокирован").check()
    await form.get_by_role("checkbox", name="Исчерпан лимит").check()
    await screen(page, "admin-webhook-new")
    await form.get_by_role("button", name="Создать вебхук").click()

    # The secret, once, in a field to copy from, with the warning.
    shown = page.get_by_test_id("new-secret")
    await expect(shown).to_contain_text("больше он показан не будет")
    secret = await page.get_by_test_id("secret").input_value()
    assert secret.startswith("whsec_"), secret
    endpoints = page.get_by_role("table", name="Вебхуки компании")
    row = endpoints.get_by_role("row", name=receiver.url)  # a part of the row's name
    await expect(row).to_contain_text("Номер заблокирован, Исчерпан лимит")  # API.md's order
    await expect(row).to_contain_text("Включён")
    await screen(page, "admin-webhook-secret")

    # The test event: delivered, and signed with the secret shown.
    await page.get_by_role("button", name="Отправить тестовое событие").click()
    await expect(
        page.get_by_role("status").filter(has_text="Тестовое событие отправлено")
    ).to_be_visible()
    deliveries = page.get_by_role("table", name="Доставки")
    delivery = deliveries.get_by_test_id("delivery").filter(has_text="Тестовое событие")
    await expect(delivery).to_contain_text("Доставлено", timeout=DELIVERED_WITHIN_MS)
    assert receiver.received, "the receiver got nothing"
    headers, body = receiver.received[-1]
    Webhook(secret).verify(body, headers)  # raises when the signature is not the secret's
    await expect(delivery).to_contain_text(headers["webhook-id"])

    # Its attempts: the answer's code and the start of its body.
    await delivery.get_by_role("button", name="Попытки (1)").click()
    attempts = page.get_by_role("table", name=re.compile("^Попытки доставки: Тестовое событие"))
    await expect(attempts.get_by_role("row").nth(1)).to_contain_text("200")
    await expect(attempts).to_contain_text('{"received": true}')
    await page.get_by_label("Состояние доставки").select_option(label="Не доставлено")
    await expect(page.get_by_text("Доставок пока нет.")).to_be_visible()
    await page.get_by_label("Состояние доставки").select_option(label="Доставлено")
    await expect(delivery).to_be_visible()
    await screen(page, "admin-webhook-deliveries")

    # Opened again, the endpoint no longer shows its secret; the API never gives it.
    panel = page.get_by_role("region", name=receiver.url)
    await panel.get_by_role("button", name="Закрыть").click()
    await endpoints.get_by_role("button", name=f"Настроить вебхук {receiver.url}").click()
    await expect(page.get_by_role("heading", name=receiver.url)).to_be_visible()
    await expect(page.get_by_test_id("secret")).to_have_count(0)
    listed = (await api.get("/api/v1/webhooks", headers=admin)).json()["items"]
    assert [e["url"] for e in listed] == [receiver.url]
    assert secret not in str(listed)

    # Switched off (the switch follows the gateway's answer): the list says so.
    switch = page.get_by_role("switch", name="Доставка событий включена")
    await switch.click()
    await expect(switch).not_to_be_checked()
    await expect(row).to_contain_text("Выключен")


async def test_an_automation_rule_with_a_condition_and_a_block_action(page, api, company, admin):
    await log_in(page, company.main_number)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()
    await page.goto("/admin?tab=automation")
    await expect(page.get_by_text("Правил пока нет.")).to_be_visible()
    await page.get_by_role("button", name="Новое правило").click()

    form = page.get_by_role("form", name="Новое правило")
    name = f"Блокировка при лимите {secrets.token_hex(2)}"
    await form.get_by_label("Название правила").fill(name)
    await form.get_by_label("Когда происходит событие").select_option(label="Исчерпан лимит")
    condition = form.get_by_label("Условие (необязательно)")
    # A condition that does not parse: the gateway's message, with where, under the field.
    await condition.fill("spent >= ")
    actions = form.get_by_test_id("rule-action")
    await expect(actions).to_have_count(1)
    await actions.get_by_label("Что сделать").select_option(label="Заблокировать номера")
    await actions.get_by_label("Вид блокировки").select_option(label="добровольная")
    await form.get_by_role("button", name="Создать правило").click()
    await expect(condition).to_have_attribute("aria-invalid", "true")
    message = form.get_by_text(re.compile(r"at character \d+"))
    await expect(message).to_be_visible()
    assert await condition.get_attribute("aria-describedby") is not None
    await expect(condition).to_be_focused()  # the caret where the condition stops parsing
    await screen(page, "admin-rule-invalid")
    rules = (await api.get("/api/v1/automation-rules", headers=admin)).json()["items"]
    assert rules == []

    # A second action, then taken away again: a list that grows and shrinks.
    await form.get_by_role("button", name="Добавить действие").click()
    await expect(actions).to_have_count(2)
    await actions.nth(1).get_by_label("Что сделать").select_option(label="Установить лимит")
    await expect(actions.nth(1).get_by_label("Сумма лимита, ₽")).to_be_visible()
    await form.get_by_role("button", name="Убрать действие 2").click()
    await expect(actions).to_have_count(1)

    await condition.fill('kind == "total" and spent >= 500000')
    await form.get_by_role("button", name="Создать правило").click()
    editor = page.get_by_role("form", name=name)
    await expect(editor.get_by_role("status")).to_have_text("Правило сохранено.")
    table = page.get_by_role("table", name="Правила компании")
    row = table.get_by_role("row", name=name)
    await expect(row).to_contain_text("Исчерпан лимит")
    await expect(row).to_contain_text("Заблокировать номера: добровольная")
    await expect(row).to_contain_text("Включено")
    await expect(row).to_contain_text("spent >= 500000")
    await expect(page.get_by_text("Правило ещё не срабатывало.")).to_be_visible()
    await screen(page, "admin-rule")

    (rule,) = (await api.get("/api/v1/automation-rules", headers=admin)).json()["items"]
    assert rule["trigger"] == "limit.reached" and rule["enabled"] is True
    assert rule["actions"] == [{"type": "block_numbers", "block_type": "voluntary"}]
    assert "spent >= 500000" in rule["condition"]

    # Switched off and saved: the list says so.
    await editor.get_by_role("switch", name="Правило включено").uncheck()
    await editor.get_by_role("button", name="Сохранить").click()
    await expect(editor.get_by_role("status")).to_have_text("Правило сохранено.")
    await expect(row).to_contain_text("Выключено")

    page.once("dialog", lambda dialog: dialog.accept())
    await editor.get_by_role("button", name="Удалить правило").click()
    await expect(table).to_have_count(0)
    await expect(page.get_by_text("Правил пока нет.")).to_be_visible()


async def test_a_viewer_has_no_webhooks_and_turns_an_e_mail_off(page, api, company, admin):
    viewer = await create_user(api, admin, roles=["viewer"])
    await log_in(page, viewer["login"], STAFF_PASSWORD)
    await expect(page.get_by_role("heading", name="Главная", level=1)).to_be_visible()

    # «Управление» for the audit log alone: no webhooks, no rules, even asked by address.
    await page.get_by_role("link", name="Управление").click()
    await expect(page.get_by_role("tab", name="Журнал аудита")).to_be_visible()
    await expect(page.get_by_role("tab", name="Вебхуки")).to_have_count(0)
    await expect(page.get_by_role("tab", name="Правила автоматизации")).to_have_count(0)
    await page.goto("/admin?tab=webhooks")
    await expect(page.get_by_role("tab", name="Журнал аудита")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(page.get_by_role("button", name="Новый вебхук")).to_have_count(0)

    await page.get_by_role("link", name="Мои настройки").click()
    form = page.get_by_role("form", name="Уведомления")
    email = form.get_by_role("checkbox", name="E-mail: Операция завершена")
    sms = form.get_by_role("checkbox", name="SMS: Операция завершена")
    await expect(email).to_be_checked()  # the default: e-mail on, SMS off
    await expect(sms).not_to_be_checked()
    await expect(form.get_by_role("button", name="Сохранить")).to_be_disabled()
    await email.uncheck()
    await form.get_by_role("checkbox", name="SMS: Ответ по обращению").check()
    await form.get_by_role("button", name="Сохранить").click()
    await expect(form.get_by_role("status")).to_have_text("Сохранено.")
    await screen(page, "settings-notifications")

    await page.reload()
    form = page.get_by_role("form", name="Уведомления")
    await expect(
        form.get_by_role("checkbox", name="E-mail: Операция завершена")
    ).not_to_be_checked()
    await expect(form.get_by_role("checkbox", name="SMS: Ответ по обращению")).to_be_checked()
    await expect(
        form.get_by_role("checkbox", name="E-mail: Финансовая блокировка и её снятие")
    ).to_be_checked()

    headers = await login_as(api, viewer["login"], STAFF_PASSWORD)
    stored = (await api.get("/api/v1/me/notifications", headers=headers)).json()["choices"]
    by_kind = {c["kind"]: c for c in stored}
    assert by_kind["operation_finished"] == {
        "kind": "operation_finished",
        "email": False,
        "sms": False,
    }
    assert by_kind["ticket_answered"]["sms"] is True
    assert by_kind["financial_block"]["email"] is True
