"""Identity's rules: companies, registration codes, users, passwords, roles, sessions.

Pure and synchronous: no I/O, no clock reads (time comes in as arguments).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services.kit.errors import InvalidArgument, NotAllowed, Unauthenticated
from services.kit.phone import normalize_msisdn

# ---------------------------------------------------------------- permissions and roles

PERMISSIONS: dict[str, tuple[str, ...]] = {
    # category → the checkboxes in it (API.md), in the order a person reads them
    "numbers": (
        "numbers.view",
        "numbers.tariff",
        "numbers.services",
        "numbers.blocks",
        "numbers.limits",
        "numbers.forwarding",
        "numbers.sim",
        "numbers.sms",
    ),
    "hierarchy": ("hierarchy.manage",),
    "finance": (
        "finance.view",
        "finance.transfer",
        "finance.promised_payment",
        "finance.settings",
    ),
    "documents": ("documents.finance", "reports.run"),
    "tickets": ("tickets.view", "tickets.manage"),
    "administration": ("users.manage", "roles.manage", "audit.view", "api_keys.manage"),
}
ALL_PERMISSIONS: tuple[str, ...] = tuple(p for group in PERMISSIONS.values() for p in group)
NUMBER_PERMISSIONS = frozenset(p for p in ALL_PERMISSIONS if p.startswith("numbers."))


@dataclass(frozen=True)
class Role:
    id: str
    name: str
    permissions: frozenset[str]
    preset: bool = False


def _numbers_except(*excluded: str) -> frozenset[str]:
    return NUMBER_PERMISSIONS - set(excluded)


PRESET_ROLES: dict[str, Role] = {
    role.id: role
    for role in (
        Role("global_admin", "Глобальный администратор", frozenset(ALL_PERMISSIONS), True),
        Role(
            "telecom_admin",
            "Администратор связи",
            NUMBER_PERMISSIONS
            | {"hierarchy.manage", "tickets.view", "tickets.manage", "reports.run"},
            True,
        ),
        Role(
            "accountant",
            "Бухгалтер",
            frozenset(p for p in ALL_PERMISSIONS if p.startswith("finance."))
            | {"documents.finance", "reports.run", "numbers.view"},
            True,
        ),
        Role(
            "department_manager",
            "Руководитель подразделения",
            _numbers_except("numbers.sim", "numbers.sms")
            | {"reports.run", "tickets.view", "tickets.manage"},
            True,
        ),
        Role(
            "viewer",
            "Наблюдатель",
            frozenset(p for p in ALL_PERMISSIONS if p.endswith(".view")),
            True,
        ),
    )
}


@dataclass(frozen=True)
class Assignment:
    role_id: str
    node_id: str | None = None  # None: the whole company


@dataclass(frozen=True)
class Scope:
    node_id: str | None
    permissions: frozenset[str]


def effective_scopes(assignments: list[Assignment], roles: dict[str, Role]) -> list[Scope]:
    """Permissions per scope: the union of the roles assigned at each node (None = company)."""
    by_node: dict[str | None, set[str]] = {}
    for assignment in assignments:
        role = roles.get(assignment.role_id)
        if role is not None:
            by_node.setdefault(assignment.node_id, set()).update(role.permissions)
    ordered = sorted(by_node.items(), key=lambda item: (item[0] is not None, item[0] or ""))
    return [Scope(node, frozenset(perms)) for node, perms in ordered]


def company_wide_permissions(scopes: list[Scope]) -> frozenset[str]:
    for scope in scopes:
        if scope.node_id is None:
            return scope.permissions
    return frozenset()


# ---------------------------------------------------------------- companies

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


# ---------------------------------------------------------------- passwords and logins

PASSWORD_MIN, PASSWORD_MAX = 8, 128


def check_password_policy(password: str, field_name: str = "password") -> None:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise InvalidArgument(
            "the password is not acceptable",
            {field_name: f"use {PASSWORD_MIN} to {PASSWORD_MAX} characters"},
        )


def normalize_login(raw: str) -> str:
    """A login is the main number (any usual phone form) or a user's own login."""
    raw = raw.strip()
    return normalize_msisdn(raw) or raw.lower()


# ---------------------------------------------------------------- registration

CODE_LENGTH = 6
CODE_TTL = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def code_digest(registration_id: str, channel: str, code: str) -> str:
    """Codes are stored only as a keyed digest bound to their registration and channel."""
    message = f"{registration_id}:{channel}:{code.strip()}".encode()
    return hashlib.sha256(message).hexdigest()


@dataclass(frozen=True)
class Registration:
    """A pending registration of a company's global administrator.

    `company_id` is None when the number and e-mail matched no company awaiting
    registration: such a registration looks the same from outside but can never succeed,
    so the public endpoint does not reveal which main numbers are customers.
    """

    id: str
    company_id: str | None
    main_number: str
    email: str
    sms_code_digest: str
    email_code_digest: str
    expires_at: datetime
    attempts: int = 0
    completed: bool = False

    def ensure_open(self, now: datetime) -> None:
        if self.completed or now >= self.expires_at or self.attempts >= MAX_CODE_ATTEMPTS:
            raise NotAllowed(
                "this registration has expired or its attempts are used up; start a new one",
                reason="REGISTRATION_EXPIRED",
            )

    def try_codes(self, sms_code: str, email_code: str) -> Registration:
        """The registration after one attempt: completed when both codes match."""
        sms_ok = hmac.compare_digest(code_digest(self.id, "sms", sms_code), self.sms_code_digest)
        mail_ok = hmac.compare_digest(
            code_digest(self.id, "email", email_code), self.email_code_digest
        )
        matched = sms_ok and mail_ok and self.company_id is not None
        return replace(self, attempts=self.attempts + 1, completed=matched)


WRONG_CODES = {
    "sms_code": "the codes do not match; check both and try again",
    "email_code": "the codes do not match; check both and try again",
}


def registration_request(main_number: str, email: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    msisdn = normalize_msisdn(main_number)
    if msisdn is None:
        errors["main_number"] = "the main number must be a mobile number like 79161234567"
    normalized_email = normalize_email(email)
    if normalized_email is None:
        errors["email"] = "not an e-mail address"
    if errors:
        raise InvalidArgument("the registration request is not valid", errors)
    return msisdn or "", normalized_email or ""


def company_accepts_registration(company: Company | None, email: str) -> bool:
    return (
        company is not None
        and not company.registered
        and bool(company.contact_email)
        and company.contact_email.lower() == email.lower()
    )


# ---------------------------------------------------------------- users

USER_ACTIVE, USER_DEACTIVATED = "active", "deactivated"


@dataclass(frozen=True)
class User:
    id: str
    company_id: str
    login: str
    full_name: str
    email: str
    password_hash: str
    created_at: datetime
    status: str = USER_ACTIVE
    assignments: tuple[Assignment, ...] = field(default_factory=tuple)

    def ensure_can_log_in(self) -> None:
        if self.status != USER_ACTIVE:
            raise Unauthenticated("the login or the password is wrong")


# ---------------------------------------------------------------- sessions

REFRESH_SECRET_BYTES = 32


def refresh_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_refresh_token(token: str) -> tuple[str, str]:
    session_id, _, secret = token.strip().partition(".")
    if not session_id or not secret or len(token) > 200:
        raise Unauthenticated("the refresh token is not valid")
    return session_id, secret


@dataclass(frozen=True)
class Session:
    """One refresh token's life. Rotation makes a new session in the same family; a reused
    (already rotated) token means it was stolen, so the whole family is revoked."""

    id: str
    family_id: str
    company_id: str
    user_id: str
    secret_digest: str
    created_at: datetime
    expires_at: datetime
    rotated: bool = False
    revoked: bool = False

    def check_refresh(self, secret: str, now: datetime) -> None:
        if not hmac.compare_digest(refresh_digest(secret), self.secret_digest):
            raise Unauthenticated("the refresh token is not valid")
        if self.revoked or now >= self.expires_at:
            raise Unauthenticated("the session has ended; log in again")

    @property
    def reused(self) -> bool:
        return self.rotated
