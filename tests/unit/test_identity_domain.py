"""Identity's rules, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.fields import OPTIONAL_MSISDN_PATTERN
from services.identity import domain
from services.identity.domain import (
    ALL_PERMISSIONS,
    PRESET_ROLES,
    Assignment,
    Company,
    Registration,
    Session,
)
from services.identity.domain.companies import ogrn_check_digit
from services.kit.errors import InvalidArgument, NotAllowed, Unauthenticated

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def company_details(**overrides: str) -> dict:
    details = {
        "company_id": "cmp_1",
        "name": 'ООО "Ромашка"',
        "inn": "7701234560",
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


def test_the_catalogue_has_the_twenty_two_permissions():
    # API.md's twenty-one, and numbers.manage_notes (a number's label, comment, cost centre)
    assert len(ALL_PERMISSIONS) == len(set(ALL_PERMISSIONS)) == 24


def test_the_notes_of_a_number_are_for_those_who_manage_numbers_not_for_readers():
    notes = "numbers.manage_notes"
    assert notes in domain.PERMISSIONS["numbers"]
    assert notes in domain.PERMISSION_TITLES
    for role in ("global_admin", "telecom_admin", "department_manager"):
        assert notes in PRESET_ROLES[role].permissions, role
    for role in ("accountant", "viewer"):
        assert notes not in PRESET_ROLES[role].permissions, role


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


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("+7 (916) 123-45-67", "79161234567"),
        ("8 916 123 45 67", "79161234567"),
        ("9161234567", "79161234567"),
        ("79161234567", "79161234567"),
        ("", ""),  # none: on an update it clears the user's number
        ("   ", ""),
    ],
)
def test_a_users_own_phone_is_stored_as_the_msisdn_and_blank_is_none(raw, stored):
    assert domain.checked_user_fields(phone=raw) == {"phone": stored}


@pytest.mark.parametrize(
    "raw", ["12345", "+1 212 555-01-23", "74951234567", "8 495 123-45-67", "79161234567x"]
)
def test_a_phone_that_is_no_mobile_number_is_refused_by_its_field(raw):
    with pytest.raises(InvalidArgument) as refused:
        domain.checked_user_fields(full_name="Иванова Анна", phone=raw)
    assert refused.value.fields == {"phone": "a mobile number, e.g. +7 916 123-45-67"}


def test_a_phone_left_out_is_not_touched():
    assert "phone" not in domain.checked_user_fields(full_name="Иванова Анна")


@given(st.from_regex(OPTIONAL_MSISDN_PATTERN, fullmatch=True))
def test_every_phone_the_gateway_lets_through_identity_accepts(raw):
    """The REST schema's pattern (gateway/fields.py) is never wider than identity's rule."""
    assert "phone" in domain.checked_user_fields(phone=raw)


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


# Sberbank's and Yandex's INN and OGRN (the state register), numbers made with the rule (an
# entrepreneur's INN, OGRNIPs — one whose first 14 digits leave 10 modulo 13), the demo's.
VALID_INNS = ("7707083893", "7736207543", "500100732259", "7701234560", "770100000079")
VALID_OGRNS = (
    "1027700132195",
    "1027700229193",
    "304500116000157",
    "326770000000050",
    "1027700000008",
)


@pytest.mark.parametrize("inn", VALID_INNS)
def test_a_valid_inn_passes(inn):
    assert domain.inn_problem(inn) is None


@pytest.mark.parametrize(
    ("inn", "why"),
    [
        ("7707083894", "check digits"),  # the last digit off by one
        ("7701234567", "check digits"),  # the demo's INN until its check digit was computed
        ("500100732258", "check digits"),  # an entrepreneur's second check digit wrong
        ("500100732269", "check digits"),  # ... the first one
        ("770708389", "10 digits"),
        ("77070838931", "10 digits"),
        ("77070838９3", "10 digits"),  # a full-width digit is not a digit here
        ("", "10 digits"),
    ],
)
def test_an_inn_with_a_wrong_length_or_check_digit_is_refused(inn, why):
    problem = domain.inn_problem(inn)
    assert problem is not None and why in problem


@pytest.mark.parametrize("ogrn", VALID_OGRNS)
def test_a_valid_ogrn_or_ogrnip_passes(ogrn):
    assert domain.ogrn_problem(ogrn) is None


def test_the_ogrnip_check_digit_is_the_remainder_mod_13_then_mod_10():
    # 32677000000005 % 13 == 10: the check digit is 0 (stdnum.ru.ogrn would want "10")
    assert int("32677000000005") % 13 == 10
    assert ogrn_check_digit("326770000000050") == "0"
    assert ogrn_check_digit("304500116000157") == "7"
    assert ogrn_check_digit("1027700132195") == "5"
    assert ogrn_check_digit("326770000000005") == "5"
    for prefix in range(32677000000000, 32677000000013):
        number = f"{prefix}{prefix % 13 % 10}"
        assert domain.ogrn_problem(number) is None, number
        wrong = f"{prefix}{(prefix % 13 + 1) % 10}"
        assert domain.ogrn_problem(wrong) is not None, wrong


@pytest.mark.parametrize(
    ("ogrn", "why"),
    [
        ("1027700132196", "check digit"),
        ("1027700000001", "check digit"),  # the demo's OGRN until its check digit was computed
        ("304500116000158", "check digit"),
        ("2027700132195", "starts with 1 or 5"),
        ("504500116000157", "starts with 3"),
        ("102770013219", "13 digits"),
        ("10277001321950", "13 digits"),
    ],
)
def test_an_ogrn_with_a_wrong_length_start_or_check_digit_is_refused(ogrn, why):
    problem = domain.ogrn_problem(ogrn)
    assert problem is not None and why in problem


def test_requisites_agree_a_legal_entity_has_an_ogrn_an_entrepreneur_an_ogrnip_and_no_kpp():
    assert domain.requisites_problems("7707083893", "773601001", "1027700132195") == {}
    assert domain.requisites_problems("500100732259", "", "304500116000157") == {}
    assert domain.requisites_problems("7707083893", "7736AB001", "") == {}  # a lettered KPP
    assert set(domain.requisites_problems("7707083893", "", "304500116000157")) == {"ogrn"}
    assert set(domain.requisites_problems("500100732259", "", "1027700132195")) == {"ogrn"}
    assert set(domain.requisites_problems("500100732259", "773601001", "")) == {"kpp"}
    assert set(domain.requisites_problems("7707083893", "77360100", "")) == {"kpp"}
    assert set(domain.requisites_problems("7707083893", "7736ab001", "")) == {"kpp"}
    both = domain.requisites_problems("7707083894", "", "1027700132196")
    assert set(both) == {"inn", "ogrn"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("inn", "7707083894"), ("ogrn", "1027700132196"), ("kpp", "7701-1001")],
)
def test_new_company_refuses_requisites_that_fail_their_checks(field, value):
    with pytest.raises(InvalidArgument) as refused:
        domain.new_company(**company_details(**{field: value}))
    assert set(refused.value.fields) == {field}


def test_the_demo_requisites_pass_every_check():
    from demo.data import COMPANIES

    for company in COMPANIES:
        assert domain.requisites_problems(company.inn, company.kpp, company.ogrn) == {}, company


def test_codes_are_six_digits():
    codes = {domain.new_code() for _ in range(200)}
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(codes) > 150


def test_company_accepts_registration_only_unregistered_with_the_same_contact_email():
    company = Company(
        id="c",
        name="n",
        inn="7701234560",
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
