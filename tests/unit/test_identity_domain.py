"""Identity's rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.identity import domain
from services.identity.domain import (
    ALL_PERMISSIONS,
    PRESET_ROLES,
    Assignment,
    Company,
    Registration,
    Session,
)
from services.kit.errors import InvalidArgument, NotAllowed, Unauthenticated

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def company_details(**overrides: str) -> dict:
    details = {
        "company_id": "cmp_1",
        "name": 'ООО "Ромашка"',
        "inn": "7701234567",
        "main_number": "+7 (916) 123-45-67",
        "contact_email": "Admin@Romashka.Example",
        "contract_number": "ВМ-1",
        "kpp": "770101001",
        "ogrn": "",
        "legal_address": "",
    }
    return {**details, **overrides, "now": NOW}


def test_new_company_normalises_the_main_number_and_the_email_domain():
    company = domain.new_company(**company_details())
    assert company.main_number == "79161234567"
    assert company.contact_email == "Admin@romashka.example"
    assert not company.registered


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("inn", "123"),
        ("inn", "77012345678"),
        ("main_number", "12345"),
        ("name", " "),
        ("contact_email", "not-an-email"),
        ("kpp", "12"),
        ("ogrn", "1"),
    ],
)
def test_new_company_refuses_each_bad_field_by_name(field, value):
    with pytest.raises(InvalidArgument) as refused:
        domain.new_company(**company_details(**{field: value}))
    assert field in refused.value.fields


def test_preset_roles_are_exactly_the_five_of_the_contract():
    assert set(PRESET_ROLES) == {
        "global_admin",
        "telecom_admin",
        "accountant",
        "department_manager",
        "viewer",
    }
    assert PRESET_ROLES["global_admin"].permissions == frozenset(ALL_PERMISSIONS)
    assert "numbers.sim" not in PRESET_ROLES["department_manager"].permissions
    assert "numbers.sms" not in PRESET_ROLES["department_manager"].permissions
    assert "numbers.tariff" in PRESET_ROLES["department_manager"].permissions
    assert PRESET_ROLES["viewer"].permissions == {
        "numbers.view",
        "finance.view",
        "tickets.view",
        "audit.view",
    }
    assert "finance.transfer" in PRESET_ROLES["accountant"].permissions
    assert "numbers.tariff" not in PRESET_ROLES["accountant"].permissions


def test_the_catalogue_has_the_twenty_one_permissions():
    assert len(ALL_PERMISSIONS) == len(set(ALL_PERMISSIONS)) == 21


assignments = st.lists(
    st.builds(
        Assignment,
        role_id=st.sampled_from([*PRESET_ROLES, "unknown"]),
        node_id=st.one_of(st.none(), st.sampled_from(["n1", "n2", "n3"])),
    ),
    max_size=8,
)


@given(assignments)
def test_effective_scopes_are_the_union_of_roles_per_node(given_assignments):
    scopes = domain.effective_scopes(given_assignments, PRESET_ROLES)
    nodes = [scope.node_id for scope in scopes]
    assert len(nodes) == len(set(nodes))  # one scope per node
    for scope in scopes:
        expected = set().union(
            *(
                PRESET_ROLES[a.role_id].permissions
                for a in given_assignments
                if a.node_id == scope.node_id and a.role_id in PRESET_ROLES
            )
        )
        assert scope.permissions == expected
    # no assignment of a known role is lost, and nothing is granted that no role carries
    granted = set().union(*(s.permissions for s in scopes)) if scopes else set()
    carried = set().union(
        *(
            PRESET_ROLES[a.role_id].permissions
            for a in given_assignments
            if a.role_id in PRESET_ROLES
        )
    )
    assert granted == carried


def test_company_wide_permissions_come_only_from_a_company_wide_assignment():
    scopes = domain.effective_scopes(
        [Assignment("department_manager", "n1"), Assignment("viewer")], PRESET_ROLES
    )
    assert domain.company_wide_permissions(scopes) == PRESET_ROLES["viewer"].permissions


@pytest.mark.parametrize("password", ["1234567", "x" * 129, ""])
def test_password_policy_refuses_too_short_or_too_long(password):
    with pytest.raises(InvalidArgument) as refused:
        domain.check_password_policy(password)
    assert "password" in refused.value.fields


@pytest.mark.parametrize("password", ["12345678", "x" * 128, "Demo-Passw0rd!"])
def test_password_policy_accepts_8_to_128(password):
    domain.check_password_policy(password)


def test_login_is_a_normalised_number_or_a_lower_case_name():
    assert domain.normalize_login(" 8 (916) 123-45-67 ") == "79161234567"
    assert domain.normalize_login("Ivanov.P") == "ivanov.p"


def registration(**overrides) -> Registration:
    fields = {
        "id": "reg_1",
        "company_id": "cmp_1",
        "main_number": "79161234567",
        "email": "a@b.example",
        "sms_code_digest": domain.code_digest("reg_1", "sms", "111111"),
        "email_code_digest": domain.code_digest("reg_1", "email", "222222"),
        "expires_at": NOW + timedelta(minutes=10),
    }
    return Registration(**{**fields, **overrides})


def test_both_codes_complete_a_registration():
    after = registration().try_codes("111111", "222222")
    assert after.completed
    assert after.attempts == 1


@pytest.mark.parametrize(
    ("sms", "mail"), [("111111", "000000"), ("000000", "222222"), ("222222", "111111")]
)
def test_a_wrong_or_swapped_code_does_not_complete_but_counts(sms, mail):
    after = registration().try_codes(sms, mail)
    assert not after.completed
    assert after.attempts == 1


def test_a_registration_without_a_company_never_completes_even_with_the_codes():
    assert not registration(company_id=None).try_codes("111111", "222222").completed


@pytest.mark.parametrize(
    "state",
    [
        {"attempts": domain.MAX_CODE_ATTEMPTS},
        {"completed": True},
        {"expires_at": NOW - timedelta(seconds=1)},
    ],
)
def test_an_expired_used_or_exhausted_registration_is_closed(state):
    with pytest.raises(NotAllowed):
        registration(**state).ensure_open(NOW)


def test_codes_are_six_digits():
    codes = {domain.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_company_accepts_registration_only_unregistered_with_the_same_contact_email():
    company = Company(
        id="c",
        name="n",
        inn="7701234567",
        main_number="79161234567",
        contact_email="admin@x.example",
        contract_number="1",
        created_at=NOW,
    )
    assert domain.company_accepts_registration(company, "ADMIN@x.example")
    assert not domain.company_accepts_registration(company, "other@x.example")
    assert not domain.company_accepts_registration(None, "admin@x.example")
    registered = Company(**{**company.__dict__, "registered": True})
    assert not domain.company_accepts_registration(registered, "admin@x.example")


def session(**overrides) -> Session:
    fields = {
        "id": "ses_1",
        "family_id": "ses_1",
        "company_id": "c",
        "user_id": "u",
        "secret_digest": domain.refresh_digest("s3cret"),
        "created_at": NOW,
        "expires_at": NOW + timedelta(days=1),
    }
    return Session(**{**fields, **overrides})


def test_refresh_needs_the_right_secret_a_live_session():
    session().check_refresh("s3cret", NOW)
    with pytest.raises(Unauthenticated):
        session().check_refresh("wrong", NOW)
    with pytest.raises(Unauthenticated):
        session(revoked=True).check_refresh("s3cret", NOW)
    with pytest.raises(Unauthenticated):
        session().check_refresh("s3cret", NOW + timedelta(days=2))


@pytest.mark.parametrize("token", ["", "nodot", ".secret", "ses_1.", "a." + "x" * 300])
def test_malformed_refresh_tokens_are_refused(token):
    with pytest.raises(Unauthenticated):
        domain.split_refresh_token(token)
