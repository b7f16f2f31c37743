"""Identity's directory without I/O: who holds a permission (and whether company-wide), how a
notice reaches them, and that inactive users are nobody's recipients."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.identity.domain import PRESET_ROLES, Assignment, User, access_of
from services.identity.domain.directory import checked_permission, person_of, phone_of
from services.kit.errors import InvalidArgument


def user(login: str, role: str, node: str | None = None) -> User:
    return User(
        id=f"usr_{login}",
        company_id="cmp_1",
        login=login,
        full_name=login,
        email=f"{login}@firm.example",
        password_hash="x",
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        assignments=(Assignment(role, node),),
    )


def access(u: User):
    return access_of(u.company_id, u.assignments, PRESET_ROLES)


def test_the_global_administrator_is_reached_on_the_main_number():
    admin = user("79161234567", "global_admin")
    person = person_of(admin, access(admin), "finance.view", "en")
    assert person is not None
    assert (person.phone, person.email, person.locale, person.company_wide) == (
        "79161234567",
        "79161234567@firm.example",
        "en",
        True,
    )


def test_a_user_with_a_login_has_no_phone_and_the_default_language():
    accountant = user("buh", "accountant")
    person = person_of(accountant, access(accountant), "finance.view", "")
    assert person is not None and person.phone == "" and person.locale == "ru"


def test_a_user_with_a_phone_of_their_own_is_reached_there():
    accountant = replace(user("buh", "accountant"), phone="79031112233")
    person = person_of(accountant, access(accountant), "finance.view", "")
    assert person is not None and person.phone == "79031112233"
    assert phone_of(accountant) == "79031112233"


def test_the_own_phone_comes_before_the_main_number_login():
    admin = replace(user("79161234567", "global_admin"), phone="79031112233")
    assert phone_of(admin) == "79031112233"
    assert phone_of(replace(admin, phone="")) == "79161234567"


def test_a_subtree_holder_is_listed_but_not_company_wide():
    manager = user("mgr", "department_manager", "node_1")
    person = person_of(manager, access(manager), "numbers.limits", "")
    assert person is not None and person.company_wide is False
    # A company-level permission never holds from a subtree.
    assert person_of(manager, access(manager), "finance.view", "") is None


def test_without_the_permission_or_active_status_nobody():
    viewer = user("view", "telecom_admin")
    assert person_of(viewer, access(viewer), "finance.view", "") is None
    gone = replace(user("buh", "accountant"), status="deactivated")
    assert person_of(gone, access(gone), "finance.view", "") is None
    assert person_of(gone, access(gone), "", "") is None


def test_unknown_permissions_are_refused():
    with pytest.raises(InvalidArgument):
        checked_permission("finance.steal")
    assert checked_permission("") == ""
