"""The home screen: which functions a user pins there, in which order, and the language.

The functions are the tabs of the cabinet's main page (the seed article) and the
functions of the product contract; their ids are what front ends show tiles for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from services.kit.errors import InvalidArgument

# id → its title on the home screen, in the order a person reads the main page.
FUNCTIONS: dict[str, str] = {
    "tariff_change": "Смена тарифного плана",
    "services": "Подключение и отключение услуг",
    "blocks": "Установка и снятие блокировки",
    "limits": "Установка и удаление лимитов",
    "forwarding": "Установка и снятие переадресации",
    "sim_replacement": "Замена SIM-карты",
    "number_replacement": "Замена номера",
    "sms": "Отправка SMS",
    "transfers": "Перенос средств с ЛС донора",
    "promised_payment": "Обещанный платёж",
    "settlement_method": "Изменение метода взаиморасчётов",
    "bill_delivery": "Адрес доставки счетов",
    "financial_documents": "Финансовые документы",
    "reports": "Отчёты",
    "operations": "Результаты операций",
    "tickets": "Обращения",
    "forms": "Бланки заявлений",
    "users": "Пользователи и роли",
    "hierarchy": "Иерархия",
}
LOCALES: tuple[str, ...] = ("ru", "en")
DEFAULT_LOCALE = "ru"
MAX_PINNED = 12


@dataclass(frozen=True)
class Preferences:
    pinned: tuple[str, ...] = ()
    locale: str = DEFAULT_LOCALE


DEFAULT_PREFERENCES = Preferences()


def checked_preferences(pinned: Iterable[str], locale: str) -> Preferences:
    """Known functions, each once, at most MAX_PINNED, in the order given; a known locale
    (empty means the default)."""
    wanted = [function.strip() for function in pinned]
    errors: dict[str, str] = {}
    for index, function in enumerate(wanted):
        if function not in FUNCTIONS:
            errors[f"pinned.{index}"] = f"unknown function {function[:64]!r}"
        elif function in wanted[:index]:
            errors[f"pinned.{index}"] = f"{function!r} is pinned already"
    if len(wanted) > MAX_PINNED:
        errors["pinned"] = f"pin at most {MAX_PINNED} functions"
    language = locale.strip().lower() or DEFAULT_LOCALE
    if language not in LOCALES:
        errors["locale"] = f"one of: {', '.join(LOCALES)}"
    if errors:
        raise InvalidArgument("the preferences are not valid", errors)
    return Preferences(pinned=tuple(wanted), locale=language)
