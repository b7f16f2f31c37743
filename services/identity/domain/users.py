"""Users, their logins and passwords."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime

from services.identity.domain.access import Assignment
from services.identity.domain.companies import normalize_email
from services.kit.errors import InvalidArgument, NotAllowed, Unauthenticated
from services.kit.phone import normalize_msisdn

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
    # Mirrors the user's two-factor settings (kept apart, with the secret) for display.
    two_factor_enabled: bool = False
    # The user's own mobile number (MSISDN), where SMS notices reach them; "" when none.
    phone: str = ""

    def ensure_can_log_in(self) -> None:
        if self.status != USER_ACTIVE:
            raise Unauthenticated("the login or the password is wrong")

    def is_company_login(self, main_number: str) -> bool:
        """The user whose login is the company's main number: its global administrator."""
        return self.login == main_number


# A user's own login: letters first, then letters, digits, dots, dashes, underscores; never
# a bare number (numbers are the companies' main-number logins).
USER_LOGIN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
FULL_NAME_MAX = 200


PHONE_HINT = "a mobile number, e.g. +7 916 123-45-67"


def checked_phone(raw: str) -> str | None:
    """A user's own mobile number as the 11-digit MSISDN; "" (none) when blank; None when
    it is not a Russian mobile number."""
    if not raw.strip():
        return ""
    return normalize_msisdn(raw)


def checked_user_fields(
    *,
    login: str | None = None,
    full_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
) -> dict[str, str]:
    """Validates what is given; returns the normalised values by field name. A blank phone
    is "" (none: it clears the user's number)."""
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if login is not None:
        normalized = login.strip().lower()
        if USER_LOGIN.match(normalized):
            values["login"] = normalized
        else:
            errors["login"] = (
                "3 to 64 characters: Latin letters, digits, '.', '-', '_', starting with a letter"
            )
    if full_name is not None:
        name = " ".join(full_name.split())
        if 1 <= len(name) <= FULL_NAME_MAX:
            values["full_name"] = name
        else:
            errors["full_name"] = f"use 1 to {FULL_NAME_MAX} characters"
    if email is not None:
        normalized_email = normalize_email(email)
        if normalized_email is None:
            errors["email"] = "not an e-mail address"
        else:
            values["email"] = normalized_email
    if phone is not None:
        normalized_phone = checked_phone(phone)
        if normalized_phone is None:
            errors["phone"] = PHONE_HINT
        else:
            values["phone"] = normalized_phone
    if errors:
        raise InvalidArgument("the user's details are not valid", errors)
    return values


def ensure_not_self(actor_id: str, target: User, action: str) -> None:
    if actor_id == target.id:
        raise NotAllowed(f"you cannot {action} yourself", reason="SELF_ACTION")


def ensure_not_company_login(target: User, main_number: str, action: str) -> None:
    if target.is_company_login(main_number):
        raise NotAllowed(
            f"you cannot {action} the global administrator whose login is the main number",
            reason="COMPANY_ADMINISTRATOR",
        )


def with_status(user: User, status: str) -> User:
    if status not in (USER_ACTIVE, USER_DEACTIVATED):
        raise InvalidArgument("unknown status", {"status": "active or deactivated"})
    return replace(user, status=status)
