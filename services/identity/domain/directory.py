"""The company's people as a notice reaches them: how to write to them, in which language,
and whether a permission holds for them company-wide.

Pure: the use case hands in the user, their access and their chosen language.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.identity.domain.access import ALL_PERMISSIONS
from services.identity.domain.preferences import DEFAULT_LOCALE
from services.identity.domain.users import USER_ACTIVE, User
from services.kit.authz import Access
from services.kit.errors import InvalidArgument
from services.kit.phone import normalize_msisdn


@dataclass(frozen=True)
class Person:
    user_id: str
    full_name: str
    email: str
    phone: str
    locale: str
    company_wide: bool


def checked_permission(permission: str) -> str:
    """Empty (every user) or one of the catalogue's permissions."""
    permission = permission.strip()
    if permission and permission not in ALL_PERMISSIONS:
        raise InvalidArgument("unknown permission", {"permission": "a permission's name"})
    return permission


def phone_of(user: User) -> str:
    """Where an SMS reaches the user: their own mobile number when they gave one, else their
    login when it is a number (the global administrator's login is the company's main
    number)."""
    return user.phone or normalize_msisdn(user.login) or ""


def person_of(user: User, access: Access, permission: str, locale: str) -> Person | None:
    """The user as a notice reaches them, or None when they are inactive or the permission
    holds for them nowhere."""
    if user.status != USER_ACTIVE:
        return None
    company_wide = True
    if permission:
        nodes = access.nodes_with(permission)
        if nodes is not None and not nodes:
            return None
        company_wide = nodes is None
    return Person(
        user_id=user.id,
        full_name=user.full_name,
        email=user.email,
        phone=phone_of(user),
        locale=locale or DEFAULT_LOCALE,
        company_wide=company_wide,
    )
