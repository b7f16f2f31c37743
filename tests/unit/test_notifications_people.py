"""Notices to people without I/O: which public event is which kind, whom it is for, the
choices and their defaults, and what the notice says in Russian and English."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.kit.errors import InvalidArgument
from services.kit.events import Event
from services.notifications.domain.notice_texts import (
    endpoint_disabled,
    money,
    moscow_time,
    notice_text,
)
from services.notifications.domain.people_notices import (
    BALANCE_LOW,
    FILE_READY,
    FINANCIAL_BLOCK,
    KINDS,
    LIMIT_REACHED,
    OPERATION_FINISHED,
    PROMISED_PAYMENT_DUE,
    TICKET_ANSWERED,
    Audience,
    Choice,
    Person,
    addressed,
    audience_of,
    checked_choices,
    every_choice,
    kind_of,
)


def public(event_type: str, data: dict, **extra) -> Event:
    return Event(
        id="evt_1",
        type=event_type,
        source="/services/billing",
        time=datetime(2026, 3, 1, 9, tzinfo=UTC),
        data=data,
        company_id="cmp_1",
        **extra,
    )


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("account.balance_exhausted", FINANCIAL_BLOCK),
        ("account.balance_restored", FINANCIAL_BLOCK),
        ("account.balance_low", BALANCE_LOW),
        ("promised_payment.due", PROMISED_PAYMENT_DUE),
        ("limit.reached", LIMIT_REACHED),
        ("operation.finished", OPERATION_FINISHED),
        ("file.ready", FILE_READY),
        ("payment.received", None),
        ("number.blocked", None),
    ],
)
def test_each_public_event_is_its_kind(event_type, kind):
    assert kind_of(public(event_type, {})) == kind


def test_a_ticket_is_answered_when_it_waits_for_the_customer():
    waiting = public("ticket.status_changed", {"status": "waiting_for_customer"})
    assert kind_of(waiting) == TICKET_ANSWERED
    for status in ("in_progress", "closed", "open"):
        assert kind_of(public("ticket.status_changed", {"status": status})) is None


def test_money_matters_go_to_finance_viewers_company_wide():
    for kind in (FINANCIAL_BLOCK, BALANCE_LOW, PROMISED_PAYMENT_DUE):
        assert audience_of(kind, public("x", {})) == Audience(company_wide=("finance.view",))
    assert audience_of(LIMIT_REACHED, public("limit.reached", {})) == Audience(
        company_wide=("numbers.limits", "finance.view")
    )


def test_an_operation_goes_to_who_started_it():
    event = public(
        "operation.finished",
        {"operation": {"created_by": "usr_a"}},
        actor="system",
        actor_kind="system",
    )
    assert audience_of(OPERATION_FINISHED, event).user_ids == ("usr_a",)


def test_a_file_goes_to_who_ordered_it_else_to_the_user_who_caused_it():
    ordered = public("file.ready", {"created_by": "usr_b"})
    assert audience_of(FILE_READY, ordered).user_ids == ("usr_b",)
    caused = public("file.ready", {}, actor="usr_c", actor_kind="user")
    assert audience_of(FILE_READY, caused).user_ids == ("usr_c",)
    nobody = public("file.ready", {}, actor="system", actor_kind="system")
    assert audience_of(FILE_READY, nobody).nobody


def test_an_answer_goes_to_the_tickets_author():
    event = public("ticket.status_changed", {"status": "waiting_for_customer", "author_id": "u"})
    assert audience_of(TICKET_ANSWERED, event).user_ids == ("u",)


def test_never_chosen_means_email_on_and_sms_off_for_every_kind():
    choices = every_choice({})
    assert [c.kind for c in choices] == list(KINDS)
    assert all(c.email and not c.sms for c in choices)
    stored = {BALANCE_LOW: Choice(BALANCE_LOW, email=False, sms=True)}
    assert every_choice(stored)[1] == Choice(BALANCE_LOW, email=False, sms=True)


def test_unknown_or_repeated_kinds_are_refused():
    with pytest.raises(InvalidArgument) as unknown:
        checked_choices([Choice("weather")])
    assert "choices[0].kind" in unknown.value.fields
    with pytest.raises(InvalidArgument):
        checked_choices([Choice(BALANCE_LOW), Choice(BALANCE_LOW, email=False)])


def test_only_chosen_channels_with_an_address_are_used():
    person = Person("usr_1", email="a@b.example", phone="")
    assert addressed(person, Choice(BALANCE_LOW, email=True, sms=True).channels) == [
        ("email", "a@b.example")
    ]
    assert addressed(replace(person, phone="79161234567"), ("sms",)) == [("sms", "79161234567")]
    assert addressed(person, Choice(BALANCE_LOW, email=False).channels) == []


def test_money_reads_as_roubles_and_kopecks():
    assert money(123_456) == "1 234,56 ₽"
    assert money(5) == "0,05 ₽"
    assert money(-10_000_000) == "-100 000,00 ₽"
    assert money(123_456, "en") == "1,234.56 ₽"


def test_times_are_moscow_time():
    moment = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert moscow_time(moment) == "10.03.2026 15:00 (МСК)"
    assert moscow_time(moment, "en") == "10.03.2026 15:00 (Moscow time)"


def test_the_financial_block_in_the_seeds_words():
    data = {"account_number": "1234", "balance": "-5000"}
    text = notice_text(FINANCIAL_BLOCK, "account.balance_exhausted", data, "ru")
    assert text.text.startswith(
        "Лицевой счёт 1234: баланс исчерпан, номера заблокированы (финансовая блокировка)"
    )
    assert "-50,00 ₽" in text.text
    restored = notice_text(FINANCIAL_BLOCK, "account.balance_restored", data, "ru")
    assert "снята" in restored.text


def test_english_for_a_user_who_chose_it():
    data = {"account_number": "ЛС-1", "balance": "99999", "threshold": "100000"}
    text = notice_text(BALANCE_LOW, "account.balance_low", data, "en")
    assert text.text == "Account ЛС-1: the balance is 999.99 ₽, below your threshold of 1,000.00 ₽."


def test_a_promised_payment_names_its_amount_and_moscow_due_time():
    data = {"account_number": "7", "amount": "30000", "due_at": "2026-03-10T12:00:00+00:00"}
    text = notice_text(PROMISED_PAYMENT_DUE, "promised_payment.due", data, "ru").text
    assert "300,00 ₽" in text and "10.03.2026 15:00 (МСК)" in text


def test_a_limit_operation_file_and_ticket_read_well():
    limit = notice_text(
        LIMIT_REACHED,
        "limit.reached",
        {
            "msisdn": "79161234567",
            "kind": "data",
            "limit": "50000",
            "spent": "50100",
            "period": "2026-03",
            "action": "block",
        },
        "ru",
    ).text
    assert "Номер 79161234567" in limit and "500,00 ₽" in limit and "заблокирован" in limit
    operation = {
        "operation": {
            "title": "Смена тарифного плана",
            "status": "OPERATION_STATUS_PARTIALLY_FAILED",
            "done": 9,
            "total": 10,
            "failed": 1,
        }
    }
    finished = notice_text(OPERATION_FINISHED, "operation.finished", operation, "ru").text
    assert "«Смена тарифного плана» выполнена частично" in finished and "9 из 10" in finished
    ready = notice_text(
        FILE_READY, "file.ready", {"kind": "report", "name": "usage.xlsx", "url": "/r/1"}, "en"
    )
    assert ready.subject == "Your report is ready" and "/r/1" in ready.text
    answered = notice_text(TICKET_ANSWERED, "ticket.status_changed", {"ticket_id": "t1"}, "ru")
    assert "t1" in answered.text and "ответил" in answered.text


def test_a_disabled_webhook_is_told_in_each_owners_language_in_moscow_time():
    failing = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    disabled = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    args = ("https://crm.example/hook", "CRM", 'ООО "Ромашка"', failing, disabled)

    ru = endpoint_disabled(*args, "ru")
    en = endpoint_disabled(*args, "en-GB")

    assert ru.subject == "Вебхук отключён" and en.subject == "Webhook disabled"
    assert 'Вебхук «CRM» компании ООО "Ромашка" отключён: с 03.12.2026 12:00 (МСК)' in ru.text
    assert "disabled 04.12.2026 12:00 (Moscow time)" in en.text
    assert all("https://crm.example/hook" in t.text for t in (ru, en))
