"""Companies (tenants): their details and how they are checked — the requisites with
their check digits (INN, OGRN/OGRNIP), so that a mistyped number never reaches a
document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from stdnum.exceptions import ValidationError
from stdnum.ru import inn as stdnum_inn

from services.kit.errors import InvalidArgument
from services.kit.phone import normalize_msisdn

# KPP: the tax office (4 digits), the reason (2 digits or capital Latin letters, FNS order
# ММВ-7-6/435@), the number (3 digits). It has no check digit.
KPP = re.compile(r"^\d{4}[0-9A-Z]{2}\d{3}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def inn_problem(inn: str) -> str | None:
    """What is wrong with an INN: 10 digits (a legal entity) or 12 (an entrepreneur, a
    person), with the check digits of the Tax Code's rule (python-stdnum's stdnum.ru.inn)."""
    if not (inn.isascii() and inn.isdigit() and len(inn) in (10, 12)):
        return "the INN is 10 digits (a legal entity) or 12 (an entrepreneur)"
    try:
        stdnum_inn.validate(inn)
    except ValidationError:
        return "the INN's check digits do not match: check the number"
    return None


def ogrn_check_digit(number: str) -> str:
    """The last digit of an OGRN (13 digits: the first 12 as a number mod 11, then mod 10)
    or an OGRNIP (15 digits: the first 14 mod 13, then mod 10) — the FNS rule. Not
    stdnum.ru.ogrn: it leaves out the OGRNIP's final mod 10 and so refuses every valid
    OGRNIP whose remainder is 10, 11 or 12."""
    if len(number) == 13:
        return str(int(number[:12]) % 11 % 10)
    return str(int(number[:14]) % 13 % 10)


def ogrn_problem(ogrn: str) -> str | None:
    """What is wrong with an OGRN (13 digits, starting with 1 or 5) or an OGRNIP (15,
    starting with 3)."""
    if not (ogrn.isascii() and ogrn.isdigit() and len(ogrn) in (13, 15)):
        return "the OGRN is 13 digits (15 for an entrepreneur's OGRNIP)"
    if ogrn[0] not in ("15" if len(ogrn) == 13 else "3"):
        return "an OGRN starts with 1 or 5" if len(ogrn) == 13 else "an OGRNIP starts with 3"
    if ogrn[-1] != ogrn_check_digit(ogrn):
        return "the OGRN's check digit does not match: check the number"
    return None


def kpp_problem(kpp: str) -> str | None:
    if not KPP.match(kpp):
        return "the KPP is 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits"
    return None


def requisites_problems(inn: str, kpp: str, ogrn: str) -> dict[str, str]:
    """Each requisite checked alone (empty KPP and OGRN: not given), then together: a
    legal entity (INN of 10) has an OGRN of 13; an entrepreneur (INN of 12) an OGRNIP of
    15 and no KPP."""
    errors: dict[str, str] = {}
    for name, value, problem in (
        ("inn", inn, inn_problem(inn)),
        ("kpp", kpp, kpp_problem(kpp) if kpp else None),
        ("ogrn", ogrn, ogrn_problem(ogrn) if ogrn else None),
    ):
        if problem and (value or name == "inn"):
            errors[name] = problem
    if errors:
        return errors
    entrepreneur = len(inn) == 12
    if ogrn and len(ogrn) != (15 if entrepreneur else 13):
        errors["ogrn"] = (
            "an entrepreneur (INN of 12 digits) has an OGRNIP of 15 digits"
            if entrepreneur
            else "a legal entity (INN of 10 digits) has an OGRN of 13 digits"
        )
    if kpp and entrepreneur:
        errors["kpp"] = "an entrepreneur (INN of 12 digits) has no KPP"
    return errors


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
    inn, kpp, ogrn = inn.strip(), kpp.strip(), ogrn.strip()
    errors.update(requisites_problems(inn, kpp, ogrn))
    msisdn = normalize_msisdn(main_number)
    if msisdn is None:
        errors["main_number"] = "the main number must be a mobile number like 79161234567"
    email = normalize_email(contact_email) if contact_email.strip() else ""
    if email is None:
        errors["contact_email"] = "not an e-mail address"
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
