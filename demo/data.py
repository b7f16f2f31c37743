"""The demo data of API.md: three companies, Ромашка's staff and hierarchy, the operator's
catalogue, the companies' numbers and the free pool (later issues add accounts, usage)."""

from __future__ import annotations

from dataclasses import dataclass

from services.catalog.domain.numbers import luhn_check_digit

DEMO_PASSWORD = "Demo-Passw0rd!"  # the published demo login


@dataclass(frozen=True)
class DemoCompany:
    name: str
    inn: str
    kpp: str
    ogrn: str
    main_number: str
    contact_email: str
    contract_number: str
    legal_address: str
    registers: bool  # whether its global administrator has registered


COMPANIES = (
    DemoCompany(
        name='ООО "Ромашка"',
        inn="7701234560",
        kpp="770101001",
        ogrn="1027700000008",
        main_number="79161234567",
        contact_email="admin@romashka.example",
        contract_number="ВМ-2026-0001",
        legal_address="125009, г. Москва, ул. Цветочная, д. 1",
        registers=True,
    ),
    DemoCompany(
        name='АО "Василёк"',
        inn="7709876545",
        kpp="770901001",
        ogrn="1037700000007",
        main_number="79169876543",
        contact_email="admin@vasilek.example",
        contract_number="ВМ-2026-0002",
        legal_address="115054, г. Москва, ул. Полевая, д. 7",
        registers=True,
    ),
    DemoCompany(
        name="ИП Петров",
        inn="770100000079",
        kpp="",
        ogrn="326770000000005",
        main_number="79165550000",
        contact_email="admin@petrov.example",
        contract_number="ВМ-2026-0003",
        legal_address="101000, г. Москва, ул. Садовая, д. 3",
        registers=False,
    ),
)


@dataclass(frozen=True)
class DemoUser:
    login: str
    full_name: str
    email: str
    role_id: str


# Ромашка's staff, each with another preset role (company-wide until catalog's hierarchy
# lets a department manager be scoped to a subtree).
ROMASHKA_STAFF = (
    DemoUser("buh.ivanova", "Иванова Мария Петровна", "ivanova@romashka.example", "accountant"),
    DemoUser("svyaz.petrov", "Петров Илья Сергеевич", "petrov@romashka.example", "telecom_admin"),
    DemoUser("audit.sidorova", "Сидорова Ольга Николаевна", "sidorova@romashka.example", "viewer"),
)


# Ромашка's hierarchy: regions → cities → departments (kind, name, children).
ROMASHKA_HIERARCHY = (
    (
        "region",
        "Центральный регион",
        (
            (
                "city",
                "Москва",
                (
                    ("department", "Отдел продаж", ()),
                    ("department", "Логистика", ()),
                    ("department", "Бухгалтерия", ()),
                ),
            ),
            ("city", "Тула", (("department", "Склад", ()),)),
        ),
    ),
    (
        "region",
        "Северо-Западный регион",
        (
            (
                "city",
                "Санкт-Петербург",
                (
                    ("department", "Отдел продаж", ()),
                    ("department", "Сервисный центр", ()),
                ),
            ),
        ),
    ),
)

# A department manager whose scope is one subtree (the city of Moscow).
ROMASHKA_MANAGER = DemoUser(
    "ruk.smirnov", "Смирнов Алексей Викторович", "smirnov@romashka.example", "department_manager"
)
ROMASHKA_MANAGER_SCOPE = "Москва"


# ---------------------------------------------------------------- the operator's catalogue


@dataclass(frozen=True)
class DemoSetting:
    key: str
    title: str
    type: str  # bool, int or choice
    default: str
    choices: tuple[str, ...] = ()
    min: int = 0
    max: int = 0


@dataclass(frozen=True)
class DemoTariff:
    id: str
    name: str
    description: str
    monthly_fee: int  # kopecks
    settings: tuple[DemoSetting, ...]
    available: bool = True


@dataclass(frozen=True)
class DemoService:
    id: str
    name: str
    description: str
    monthly_price: int  # kopecks
    category: str
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    tariffs: tuple[str, ...] = ()  # empty: every tariff


def _minutes(default: int, low: int, high: int) -> DemoSetting:
    return DemoSetting("minutes", "Пакет минут", "int", str(default), min=low, max=high)


def _internet(default: str, *choices: str) -> DemoSetting:
    return DemoSetting("internet", "Пакет интернета", "choice", default, choices=choices)


def _roaming(default: bool) -> DemoSetting:
    return DemoSetting("roaming", "Роуминг", "bool", "true" if default else "false")


START = "tariff_biznes_start"
STANDARD = "tariff_biznes_standart"
UNLIMITED = "tariff_biznes_bezlimit"
INTERNET = "tariff_biznes_internet"
M2M = "tariff_umnyi_biznes_m2m"
EXPERT = "tariff_korporativnyi_ekspert"
VOICE_TARIFFS = (START, STANDARD, UNLIMITED, EXPERT)

TARIFFS = (
    DemoTariff(
        START,
        "Бизнес Старт",
        "Для сотрудников, которые в основном звонят: минуты и немного интернета.",
        45_000,
        (_minutes(300, 100, 1000), _internet("10gb", "5gb", "10gb", "20gb"), _roaming(False)),
    ),
    DemoTariff(
        STANDARD,
        "Бизнес Стандарт",
        "Сбалансированный тариф для большинства сотрудников.",
        79_000,
        (_minutes(800, 300, 3000), _internet("20gb", "10gb", "20gb", "40gb"), _roaming(False)),
    ),
    DemoTariff(
        UNLIMITED,
        "Бизнес Безлимит",
        "Безлимитный интернет и большой пакет минут для руководителей и продаж.",
        149_000,
        (_minutes(2000, 1000, 5000), _internet("unlimited", "40gb", "unlimited"), _roaming(True)),
    ),
    DemoTariff(
        INTERNET,
        "Бизнес Интернет",
        "Только интернет: для планшетов, модемов и роутеров.",
        59_000,
        (
            _internet("50gb", "20gb", "50gb", "100gb"),
            DemoSetting("night_unlimited", "Безлимитный интернет ночью", "bool", "true"),
        ),
    ),
    DemoTariff(
        M2M,
        "Умный бизнес M2M",
        "Для устройств: терминалы, датчики, трекеры, банкоматы.",
        15_000,
        (
            DemoSetting("data_mb", "Пакет данных, МБ", "int", "100", min=10, max=1000),
            DemoSetting("sms", "SMS-уведомления с устройства", "bool", "false"),
        ),
    ),
    DemoTariff(
        EXPERT,
        "Корпоративный Эксперт",
        "Максимум возможностей и персональный менеджер.",
        249_000,
        (
            _minutes(5000, 3000, 10000),
            _internet("unlimited", "50gb", "unlimited"),
            _roaming(True),
            DemoSetting("personal_manager", "Персональный менеджер", "bool", "true"),
        ),
    ),
    DemoTariff(
        "tariff_biznes_start_2023",
        "Бизнес Старт 2023",
        "Архивный тариф: больше не подключается, номера на нём его сохраняют.",
        39_000,
        (_minutes(200, 100, 500), _roaming(False)),
        available=False,
    ),
)

# In dependency order: a service comes after the services it names.
SERVICES = (
    DemoService(
        "intl_roaming",
        "Международный роуминг",
        "Звонки, SMS и интернет за границей.",
        0,
        "roaming",
        tariffs=(*VOICE_TARIFFS, INTERNET),
    ),
    DemoService(
        "roaming_unlimited",
        "Безлимит в роуминге",
        "Безлимитный интернет в поездках за границу.",
        99_000,
        "roaming",
        requires=("intl_roaming",),
        tariffs=(STANDARD, UNLIMITED, EXPERT),
    ),
    DemoService(
        "extra_internet_10gb",
        "Дополнительный интернет 10 ГБ",
        "Ещё 10 ГБ в месяц сверх пакета тарифа.",
        20_000,
        "internet",
        tariffs=(START, STANDARD, INTERNET),
    ),
    DemoService("family_group", "Семейная группа", "Бесплатные звонки близким.", 15_000, "calls"),
    DemoService(
        "corporate_group",
        "Корпоративная группа",
        "Бесплатные звонки на номера компании.",
        10_000,
        "calls",
        excludes=("family_group",),
        tariffs=VOICE_TARIFFS,
    ),
    DemoService(
        "call_forwarding",
        "Переадресация",
        "Переадресация вызовов.",
        0,
        "calls",
        tariffs=VOICE_TARIFFS,
    ),
    DemoService(
        "caller_id",
        "Определитель номера",
        "Показывает номер звонящего.",
        0,
        "calls",
        tariffs=VOICE_TARIFFS,
    ),
    DemoService(
        "who_called",
        "Кто звонил",
        "SMS о пропущенных вызовах, пока номер был недоступен.",
        3_000,
        "calls",
        requires=("caller_id",),
        tariffs=VOICE_TARIFFS,
    ),
    DemoService(
        "conference_call",
        "Конференц-связь",
        "Разговор до шести участников.",
        10_000,
        "calls",
        tariffs=(STANDARD, UNLIMITED, EXPERT),
    ),
    DemoService(
        "incoming_barring",
        "Запрет входящих",
        "Запрещает входящие вызовы (например, для устройств).",
        0,
        "security",
        excludes=("call_forwarding", "who_called"),
    ),
    DemoService("antispam", "Антиспам", "Блокирует спам-звонки и SMS.", 0, "security"),
    DemoService(
        "mobile_mail",
        "Мобильная почта",
        "Уведомления о письмах по SMS.",
        5_000,
        "messaging",
        tariffs=(*VOICE_TARIFFS, INTERNET),
    ),
    DemoService(
        "sms_500",
        "SMS-пакет 500",
        "500 SMS в месяц на любые номера России.",
        15_000,
        "messaging",
    ),
)


# ---------------------------------------------------------------- the companies' numbers


@dataclass(frozen=True)
class DemoNumber:
    msisdn: str
    iccid: str
    tariff_id: str
    place: str  # a region or city by name, a department as "city / department"; "" the root
    label: str = ""


def demo_iccid(msisdn: str) -> str:
    """The SIM card of a demo number: 20 digits, 8970100 + the number + the Luhn digit."""
    body = f"89701000{msisdn}"
    return body + luhn_check_digit(body)


# Where Ромашка's numbers are (place, how many, the tariffs they take in turn).
ROMASHKA_PLACES: tuple[tuple[str, int, tuple[str, ...]], ...] = (
    ("", 10, (EXPERT,)),
    ("Центральный регион", 10, (UNLIMITED, STANDARD)),
    ("Москва", 20, (STANDARD, INTERNET)),
    ("Москва / Отдел продаж", 120, (UNLIMITED, STANDARD, STANDARD)),
    ("Москва / Логистика", 80, (START, M2M)),
    ("Москва / Бухгалтерия", 40, (START, STANDARD)),
    ("Тула", 10, (START,)),
    ("Тула / Склад", 60, (M2M, START, INTERNET)),
    ("Северо-Западный регион", 10, (UNLIMITED, STANDARD)),
    ("Санкт-Петербург", 10, (STANDARD,)),
    ("Санкт-Петербург / Отдел продаж", 90, (UNLIMITED, STANDARD)),
    ("Санкт-Петербург / Сервисный центр", 60, (START, INTERNET)),
)

# The first numbers of some places carry a label: who has the SIM card.
_PEOPLE = (
    "Иванов И.И.",
    "Кузнецова А.С.",
    "Соколов Д.В.",
    "Попова Е.Н.",
    "Лебедев П.А.",
    "Козлова М.Ю.",
    "Новиков С.О.",
    "Морозова Т.Г.",
)
_POSITIONS = {
    "Москва / Отдел продаж": "менеджер",
    "Москва / Логистика": "водитель",
    "Москва / Бухгалтерия": "бухгалтер",
    "Тула / Склад": "кладовщик",
    "Санкт-Петербург / Отдел продаж": "менеджер",
    "Санкт-Петербург / Сервисный центр": "инженер",
}


def _numbers(
    first: int, places: tuple[tuple[str, int, tuple[str, ...]], ...]
) -> tuple[DemoNumber, ...]:
    """Consecutive MSISDNs from `first`, place after place, each place's tariffs in turn."""
    made: list[DemoNumber] = []
    for place, count, tariffs in places:
        for index in range(count):
            msisdn = str(first + len(made))
            label = ""
            if place in _POSITIONS and index < len(_PEOPLE):
                label = f"{_PEOPLE[index]}, {_POSITIONS[place]}"
            made.append(
                DemoNumber(msisdn, demo_iccid(msisdn), tariffs[index % len(tariffs)], place, label)
            )
    return tuple(made)


# Ромашка's 520 numbers (7916100xxxx) over its hierarchy; Василёк's 30 (7916200xxxx) and
# Петров's 5 (7916300xxxx) at their roots; the operator's free pool of 50 (7916900xxxx).
ROMASHKA_NUMBERS = _numbers(79161000000, ROMASHKA_PLACES)
VASILEK_NUMBERS = _numbers(79162000000, (("", 30, (STANDARD, START, UNLIMITED, M2M)),))
PETROV_NUMBERS = _numbers(79163000000, (("", 5, (START, STANDARD)),))
COMPANY_NUMBERS = {
    COMPANIES[0].inn: ROMASHKA_NUMBERS,
    COMPANIES[1].inn: VASILEK_NUMBERS,
    COMPANIES[2].inn: PETROV_NUMBERS,
}
FREE_NUMBERS = tuple((str(m), demo_iccid(str(m))) for m in range(79169000000, 79169000050))


# Ромашка's tickets to the operator: what the telecom administrator asked (about which of
# its numbers, by index in ROMASHKA_NUMBERS) and what happened since, step by step:
# (side, action, text, status) — the operator's desk takes, answers, resolves; the
# customer answers and closes.
@dataclass(frozen=True)
class DemoTicket:
    category: str
    subject: str
    text: str
    numbers: tuple[int, ...] = ()
    steps: tuple[tuple[str, str, str, str], ...] = ()


TICKETS_AUTHOR = "svyaz.petrov"
DESK_AGENT = "Смирнова А.В."
ROMASHKA_TICKETS = (
    DemoTicket(
        "technical",
        "Нет связи в офисе на Тверской",
        "С утра два номера отдела продаж не принимают входящие звонки.",
        (0, 1),
        (
            ("operator", "status", "", "in_progress"),
            (
                "operator",
                "reply",
                "Уточните, пожалуйста, с какого времени нет связи и в каком помещении.",
                "waiting_for_customer",
            ),
        ),
    ),
    DemoTicket(
        "billing",
        "Двойное списание абонентской платы за февраль",
        "Абонентская плата за февраль списана дважды, просим вернуть лишнее.",
        (2,),
        (
            ("operator", "status", "", "in_progress"),
            ("operator", "reply", "Повторное списание возвращено на лицевой счёт.", "resolved"),
            ("customer", "close", "Спасибо, деньги вернулись.", ""),
        ),
    ),
    DemoTicket(
        "number_porting",
        "Перенос номера от другого оператора",
        "Хотим перенести к вам номер нового сотрудника с сохранением номера.",
    ),
    DemoTicket(
        "other",
        "Роуминг для командировки в Казахстан",
        "Подскажите, какой пакет роуминга выгоднее на две недели.",
        (3,),
        (("operator", "status", "", "in_progress"),),
    ),
    DemoTicket(
        "contract",
        "Переоформление договора на новый юридический адрес",
        "Компания сменила юридический адрес, просим внести изменения в договор.",
        (),
        (
            ("operator", "status", "", "in_progress"),
            (
                "operator",
                "reply",
                "Изменения внесены, новый договор в разделе «Документы».",
                "resolved",
            ),
        ),
    ),
)


# --- accounts and money (billing) --------------------------------------------------------


@dataclass(frozen=True)
class DemoAccount:
    key: str  # the demo's own name for it: payment ids are made of it
    name: str
    method: str  # advance or credit
    credit_limit: int  # kopecks
    monthly_payment: int  # kopecks, paid at the start of each demo month
    places: tuple[str, ...] = ()  # the company's numbers at these places (and below)


# Ромашка: Москва on its own advance account, the North-West branches on credit, the rest
# (the head office, Центральный регион, Тула) on the main advance account.
ROMASHKA_ACCOUNTS = (
    DemoAccount("main", "Основной", "advance", 0, 10_000_000),
    DemoAccount("moscow", "Москва", "advance", 0, 28_000_000, ("Москва",)),
    DemoAccount(
        "north_west",
        "Филиалы Северо-Запада",
        "credit",
        50_000_000,
        18_000_000,
        ("Северо-Западный регион", "Санкт-Петербург"),
    ),
)
COMPANY_ACCOUNTS = {
    COMPANIES[0].inn: ROMASHKA_ACCOUNTS,
    COMPANIES[1].inn: (DemoAccount("main", "Основной", "advance", 0, 3_000_000),),
    COMPANIES[2].inn: (DemoAccount("main", "Основной", "advance", 0, 500_000),),
}
# Whole months of usage before the current one (and the current one so far).
USAGE_MONTHS = 3


def account_key_of(number: DemoNumber, accounts: tuple[DemoAccount, ...]) -> str:
    """The demo account a number is billed to: the first whose place holds it, else the
    company's first account."""
    for account in accounts:
        for place in account.places:
            if number.place == place or number.place.startswith(f"{place} / "):
                return account.key
    return accounts[0].key


def demo_usage(msisdn: str, period: str) -> tuple[tuple[str, int, int], ...]:
    """A number's usage in a month, the same at every load: (kind, kopecks, quantity) for
    calls (minutes), SMS, mobile internet (MB), and roaming for some numbers."""
    seed = sum(ord(char) * (index + 7) for index, char in enumerate(msisdn + period))
    minutes = 60 + seed % 400
    messages = seed % 40
    megabytes = 500 + (seed * 7) % 6000
    usage = [
        ("calls", minutes * 50, minutes),
        ("sms", messages * 150, messages),
        ("data", megabytes * 3, megabytes),
    ]
    if seed % 11 == 0:
        usage.append(("roaming", 15_000 + seed % 20_000, 50 + seed % 200))
    return tuple(usage)


# --- documents and reports ---------------------------------------------------------------

# Made for Ромашка by its accountant for the last whole month, so that the operation-results
# journal and the documents list are not empty: financial documents of every account, and
# reports over Москва (by node) and over the whole company.
DOCUMENTS_AUTHOR = "buh.ivanova"
DEMO_DOCUMENT_TYPES = ("invoice", "act", "invoice_factura")
# (type, format, node name: its subtree; "" for the whole company)
DEMO_REPORTS = (
    ("usage", "xlsx", "Москва"),
    ("spending_by_node", "pdf", ""),
    ("inventory", "csv", ""),
)
