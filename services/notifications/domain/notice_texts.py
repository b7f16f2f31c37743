"""What a notice says: a subject and a text, in Russian (the seed's wording) or English (the
user's `locale`), from the public event's data.

Money is kopecks in the events and «1 234,56 ₽» here; times are UTC in the events and
Moscow time here (no daylight saving since 2014: a fixed UTC+3). An SMS carries the text
alone, so the text says everything the subject says.

Pure: the event's data in, words out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from services.notifications.domain.people_notices import (
    BALANCE_LOW,
    FILE_READY,
    FINANCIAL_BLOCK,
    LIMIT_REACHED,
    OPERATION_FINISHED,
    PROMISED_PAYMENT_DUE,
    TICKET_ANSWERED,
)

RU = "ru"
EN = "en"
MOSCOW = timezone(timedelta(hours=3), "MSK")
RESTORED = "account.balance_restored"

LIMIT_KINDS: Mapping[str, Mapping[str, str]] = {
    RU: {
        "total": "всего",
        "data": "мобильный интернет",
        "roaming": "роуминг",
        "calls": "звонки",
        "sms": "SMS",
    },
    EN: {"total": "total", "data": "data", "roaming": "roaming", "calls": "calls", "sms": "SMS"},
}
OPERATION_OUTCOMES: Mapping[str, Mapping[str, str]] = {
    RU: {
        "OPERATION_STATUS_SUCCEEDED": "выполнена",
        "OPERATION_STATUS_FAILED": "не выполнена",
        "OPERATION_STATUS_PARTIALLY_FAILED": "выполнена частично",
        "OPERATION_STATUS_CANCELLED": "отменена",
    },
    EN: {
        "OPERATION_STATUS_SUCCEEDED": "succeeded",
        "OPERATION_STATUS_FAILED": "failed",
        "OPERATION_STATUS_PARTIALLY_FAILED": "partially failed",
        "OPERATION_STATUS_CANCELLED": "was cancelled",
    },
}


@dataclass(frozen=True)
class NoticeText:
    subject: str
    text: str


def language(locale: str) -> str:
    return EN if locale.strip().lower().startswith(EN) else RU


def money(kopecks: int, locale: str = RU) -> str:
    """«1 234,56 ₽» (ru) or «1,234.56 ₽» (en); a debt keeps its minus."""
    sign = "-" if kopecks < 0 else ""
    roubles, rest = divmod(abs(kopecks), 100)
    if language(locale) == EN:
        return f"{sign}{roubles:,}.{rest:02d} ₽"
    return f"{sign}{roubles:,}".replace(",", " ") + f",{rest:02d} ₽"


def moscow_time(moment: datetime, locale: str = RU) -> str:
    local = moment.astimezone(MOSCOW)
    if language(locale) == EN:
        return local.strftime("%d.%m.%Y %H:%M") + " (Moscow time)"
    return local.strftime("%d.%m.%Y %H:%M") + " (МСК)"


def _int(data: Mapping[str, Any], name: str) -> int:
    """int64 fields travel as JSON strings."""
    try:
        return int(data.get(name) or 0)
    except (TypeError, ValueError):
        return 0


def _moment(raw: Any) -> datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _account(data: Mapping[str, Any]) -> str:
    return str(data.get("account_number") or data.get("account_id") or "")


def _financial_block(public_type: str, data: Mapping[str, Any], lang: str) -> NoticeText:
    account = _account(data)
    balance = money(_int(data, "balance"), lang)
    if public_type == RESTORED:
        if lang == EN:
            return NoticeText(
                f"Account {account}: the financial block is lifted",
                f"Account {account}: the balance is restored ({balance}), "
                "the numbers are unblocked.",
            )
        return NoticeText(
            f"Лицевой счёт {account}: финансовая блокировка снята",
            f"Лицевой счёт {account}: баланс восстановлен ({balance}), "
            "финансовая блокировка номеров снята.",
        )
    if lang == EN:
        return NoticeText(
            f"Account {account}: the balance is exhausted",
            f"Account {account}: the balance is exhausted ({balance}), "
            "the numbers are blocked (financial block).",
        )
    return NoticeText(
        f"Лицевой счёт {account}: баланс исчерпан",
        f"Лицевой счёт {account}: баланс исчерпан, номера заблокированы "
        f"(финансовая блокировка). Баланс: {balance}.",
    )


def _balance_low(public_type: str, data: Mapping[str, Any], lang: str) -> NoticeText:
    account = _account(data)
    balance, threshold = money(_int(data, "balance"), lang), money(_int(data, "threshold"), lang)
    if lang == EN:
        return NoticeText(
            f"Account {account}: the balance is low",
            f"Account {account}: the balance is {balance}, below your threshold of {threshold}.",
        )
    return NoticeText(
        f"Лицевой счёт {account}: баланс ниже порога",
        f"Лицевой счёт {account}: баланс {balance} ниже установленного порога {threshold}.",
    )


def _promised_payment_due(public_type: str, data: Mapping[str, Any], lang: str) -> NoticeText:
    account = _account(data)
    amount = money(_int(data, "amount"), lang)
    due = _moment(data.get("due_at"))
    if lang == EN:
        when = moscow_time(due, lang) if due else "within a day"
        return NoticeText(
            f"Account {account}: a promised payment is due",
            f"Account {account}: the promised payment of {amount} is repaid (taken from "
            f"the balance) on {when}.",
        )
    when = moscow_time(due, lang) if due else "в течение суток"
    return NoticeText(
        f"Лицевой счёт {account}: срок обещанного платежа истекает",
        f"Лицевой счёт {account}: обещанный платёж {amount} будет погашен (списан с "
        f"баланса) {when}.",
    )


def _limit_reached(public_type: str, data: Mapping[str, Any], lang: str) -> NoticeText:
    msisdn = str(data.get("msisdn") or "")
    kind = str(data.get("kind") or "")
    kind_name = LIMIT_KINDS[lang].get(kind, kind)
    limit, spent = money(_int(data, "limit"), lang), money(_int(data, "spent"), lang)
    period = str(data.get("period") or "")
    blocked = data.get("action") == "block"
    if lang == EN:
        tail = " The number is blocked until the month ends." if blocked else ""
        return NoticeText(
            f"Number {msisdn}: spending limit reached",
            f"Number {msisdn}: spending for {period} ({kind_name}) reached the limit of "
            f"{limit}; spent {spent}.{tail}",
        )
    tail = " Номер заблокирован до конца месяца." if blocked else ""
    return NoticeText(
        f"Номер {msisdn}: достигнут лимит расходов",
        f"Номер {msisdn}: расходы за {period} ({kind_name}) достигли лимита {limit}, "
        f"израсходовано {spent}.{tail}",
    )


def _operation_finished(public_type: str, data: Mapping[str, Any], lang: str) -> NoticeText:
    found = data.get("operation")
    operation: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    title = str(operation.get("title") or operation.get("type") or "")
    status = str(operation.get("status") or "")
    outcome = OPERATION_OUTCOMES[lang].get(status, status)
    done, total, failed = (_int(operation, n) for n in ("done", "total", "failed"))
    if lang == EN:
        return NoticeText(
            f"Operation «{title}» {outcome}",
            f"Operation «{title}» {outcome}: {done} of {total} done, {failed} failed. "
            "See «Operation results».",
        )
    return NoticeText(
        f"Операция «{title}» {outcome}",
        f"Операция «{title}» {outcome}: обработано {done} из {total}, ошибок {failed}. "
        "Подробности — в разделе «Результаты операций».",
    )


def _file_ready(public_type: str, data: Mapping[str, Any], lang: str) -> NoticeText:
    name, url = str(data.get("name") or ""), str(data.get("url") or "")
    is_report = data.get("kind") == "report"
    if lang == EN:
        what = "report" if is_report else "document"
        return NoticeText(f"Your {what} is ready", f"Your {what} «{name}» is ready: {url}")
    what = "Отчёт" if is_report else "Документ"
    return NoticeText(f"{what} готов", f"{what} «{name}» готов, скачать: {url}")


def _ticket_answered(public_type: str, data: Mapping[str, Any], lang: str) -> NoticeText:
    ticket = str(data.get("ticket_id") or "")
    if lang == EN:
        return NoticeText(
            "Your ticket was answered",
            f"The operator answered your ticket {ticket} and waits for your reply.",
        )
    return NoticeText(
        "Ответ по обращению",
        f"Оператор ответил на ваше обращение {ticket} и ожидает вашего ответа.",
    )


_TEXTS: Mapping[str, Callable[[str, Mapping[str, Any], str], NoticeText]] = {
    FINANCIAL_BLOCK: _financial_block,
    BALANCE_LOW: _balance_low,
    PROMISED_PAYMENT_DUE: _promised_payment_due,
    LIMIT_REACHED: _limit_reached,
    OPERATION_FINISHED: _operation_finished,
    FILE_READY: _file_ready,
    TICKET_ANSWERED: _ticket_answered,
}


def notice_text(kind: str, public_type: str, data: Mapping[str, Any], locale: str) -> NoticeText:
    """The notice of `kind` (its public event's type and data) in the user's language."""
    return _TEXTS[kind](public_type, data, language(locale))


def endpoint_disabled(
    url: str,
    description: str,
    company_name: str,
    failing_since: datetime | None,
    disabled_at: datetime | None,
    locale: str,
) -> NoticeText:
    """The e-mail to a company's webhook owners: which endpoint, since when it failed, and
    what to do."""
    ru = language(locale) == RU

    def when(moment: datetime | None) -> str:
        return moscow_time(moment, locale) if moment else "—"

    if ru:
        named = f" «{description}»" if description else ""
        whose = f" компании {company_name}" if company_name else ""
        return NoticeText(
            "Вебхук отключён",
            "Здравствуйте!\n\n"
            f"Вебхук{named}{whose} отключён: с {when(failing_since)} ни одно событие не удалось "
            f"доставить по адресу\n{url}\n"
            f"Вебхук отключён {when(disabled_at)}, и события на этот адрес больше не "
            "отправляются.\n\n"
            "Проверьте, что адрес доступен и отвечает кодом 2xx, затем включите вебхук снова "
            "в разделе «Управление» → «Вебхуки». Доставки, которые не удались, можно отправить "
            "повторно там же, в журнале доставок.\n\n"
            "Виртуальный менеджер",
        )
    named = f" “{description}”" if description else ""
    whose = f" of {company_name}" if company_name else ""
    return NoticeText(
        "Webhook disabled",
        "Hello,\n\n"
        f"The webhook{named}{whose} is disabled: since {when(failing_since)} no event could be "
        f"delivered to\n{url}\n"
        f"It was disabled {when(disabled_at)}, and no more events are sent to this address.\n\n"
        "Check that the address is reachable and answers 2xx, then enable the webhook again "
        "in «Управление» → «Вебхуки» (Management → Webhooks). Failed deliveries can be sent "
        "again there, from the delivery log.\n\n"
        "Virtual Manager",
    )
