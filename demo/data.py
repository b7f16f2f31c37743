"""The demo data of API.md: three companies (later issues add numbers, accounts, usage)."""

from __future__ import annotations

from dataclasses import dataclass

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
        inn="7701234567",
        kpp="770101001",
        ogrn="1027700000001",
        main_number="79161234567",
        contact_email="admin@romashka.example",
        contract_number="ВМ-2026-0001",
        legal_address="125009, г. Москва, ул. Цветочная, д. 1",
        registers=True,
    ),
    DemoCompany(
        name='АО "Василёк"',
        inn="7709876543",
        kpp="770901001",
        ogrn="1037700000002",
        main_number="79169876543",
        contact_email="admin@vasilek.example",
        contract_number="ВМ-2026-0002",
        legal_address="115054, г. Москва, ул. Полевая, д. 7",
        registers=True,
    ),
    DemoCompany(
        name="ИП Петров",
        inn="770100000001",
        kpp="",
        ogrn="326770000000001",
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
