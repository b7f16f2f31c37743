"""Companies (tenants): their details and how they are checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from services.kit.errors import InvalidArgument
from services.kit.phone import normalize_msisdn

INN = re.compile(r"^(\d{10}|\d{12})$")
KPP = re.compile(r"^\d{9}$")
OGRN = re.compile(r"^(\d{13}|\d{15})$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


@dataclass(frozen=True)
class Company:
    id: str
    name: str
    inn: str
    main_number: str
    contact_email: str
    contract_number: str
    created_at: datetime
    kpp: str = ""
    ogrn: str = ""
    legal_address: str = ""
    registered: bool = False


def normalize_email(raw: str) -> str | None:
    email = raw.strip()
    if len(email) > 254 or not EMAIL.match(email):
        return None
    local, _, domain = email.partition("@")
    return f"{local}@{domain.lower()}"


def new_company(
    *,
    company_id: str,
    name: str,
    inn: str,
    main_number: str,
    contact_email: str,
    contract_number: str,
    kpp: str,
    ogrn: str,
    legal_address: str,
    now: datetime,
) -> Company:
    errors: dict[str, str] = {}
    name = name.strip()
    if not 1 <= len(name) <= 200:
        errors["name"] = "a name of 1 to 200 characters is required"
    if not INN.match(inn.strip()):
        errors["inn"] = "the INN is 10 digits (a legal entity) or 12 (an entrepreneur)"
    msisdn = normalize_msisdn(main_number)
    if msisdn is None:
        errors["main_number"] = "the main number must be a mobile number like 79161234567"
    email = normalize_email(contact_email) if contact_email.strip() else ""
    if email is None:
        errors["contact_email"] = "not an e-mail address"
    if kpp and not KPP.match(kpp):
        errors["kpp"] = "the KPP is 9 digits"
    if ogrn and not OGRN.match(ogrn):
        errors["ogrn"] = "the OGRN is 13 digits (15 for an entrepreneur)"
    if len(contract_number) > 64 or len(legal_address) > 500:
        errors["contract_number"] = "too long"
    if errors:
        raise InvalidArgument("the company's details are not valid", errors)
    return Company(
        id=company_id,
        name=name,
        inn=inn.strip(),
        main_number=msisdn or "",
        contact_email=email or "",
        contract_number=contract_number.strip(),
        kpp=kpp,
        ogrn=ogrn,
        legal_address=legal_address.strip(),
        created_at=now,
    )
