"""Identity's password rules (reset codes, changing one's own) and home-screen preferences,
without I/O."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.identity import domain
from services.identity.domain import PasswordReset, User
from services.kit.errors import InvalidArgument, NotAllowed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CODE = "123456"


def a_user(login: str = "79161234567", status: str = domain.USER_ACTIVE) -> User:
    return User(
        id="usr_1",
        company_id="cmp_1",
        login=login,
        full_name="Иванова Анна",
        email="ivanova@romashka.example",
        password_hash="$argon2id$...",
        created_at=NOW,
        status=status,
    )


def a_reset(user_id: str | None = "usr_1", **overrides) -> PasswordReset:
    reset = PasswordReset(
        id="pwr_1",
        company_id="cmp_1" if user_id else None,
        user_id=user_id,
        channel="sms",
        code_digest=domain.reset_code_digest("pwr_1", CODE),
        created_at=NOW,
        expires_at=NOW + domain.RESET_CODE_TTL,
    )
    return replace(reset, **overrides)


# ---------------------------------------------------------------- reset codes


def test_the_code_is_stored_as_a_digest_bound_to_its_reset():
    digest = domain.reset_code_digest("pwr_1", CODE)
    assert CODE not in digest
    assert digest != domain.reset_code_digest("pwr_2", CODE)
    # the same code of a registration does not match a reset
    assert digest != domain.code_digest("pwr_1", "sms", CODE)


def test_the_right_code_completes_the_reset_and_counts_as_an_attempt():
    after = a_reset().try_code(f" {CODE} ")
    assert after.completed
    assert after.attempts == 1


def test_a_wrong_code_counts_an_attempt_and_does_not_complete():
    after = a_reset().try_code("654321")
    assert not after.completed
    assert after.attempts == 1
    assert after.attempts_left == domain.MAX_RESET_ATTEMPTS - 1


@given(st.text(max_size=12).filter(lambda code: code.strip() != CODE))
def test_no_other_code_completes_a_reset(code):
    assert not a_reset().try_code(code).completed


def test_a_reset_for_an_unknown_login_never_completes_even_with_its_code():
    assert not a_reset(user_id=None).try_code(CODE).completed


def test_a_reset_is_open_until_it_expires():
    reset = a_reset()
    reset.ensure_open(NOW + domain.RESET_CODE_TTL - timedelta(seconds=1))
    with pytest.raises(NotAllowed) as refused:
        reset.ensure_open(NOW + domain.RESET_CODE_TTL)
    assert refused.value.reason == "RESET_EXPIRED"


def test_a_reset_closes_after_five_attempts():
    assert domain.MAX_RESET_ATTEMPTS == 5
    reset = a_reset()
    for _ in range(5):
        reset.ensure_open(NOW)
        reset = reset.try_code("000000")
    assert reset.attempts_left == 0
    with pytest.raises(NotAllowed) as refused:
        reset.ensure_open(NOW)
    assert refused.value.reason == "RESET_EXPIRED"


def test_a_completed_reset_cannot_be_used_again():
    used = a_reset().try_code(CODE)
    with pytest.raises(NotAllowed) as refused:
        used.ensure_open(NOW)
    assert refused.value.reason == "RESET_EXPIRED"


def test_the_code_expires_in_ten_minutes():
    assert timedelta(minutes=10) == domain.RESET_CODE_TTL


@pytest.mark.parametrize(
    ("login", "channel"),
    [("79161234567", "sms"), ("ivanova.a", "email"), ("a123456789", "email")],
)
def test_a_number_login_gets_its_code_by_sms_any_other_by_email(login, channel):
    assert domain.reset_channel(a_user(login)) == channel


def test_a_code_goes_only_to_an_active_user_and_not_too_often():
    limit = domain.MAX_RESETS_PER_WINDOW
    assert domain.may_send_reset_code(a_user(), 0)
    assert domain.may_send_reset_code(a_user(), limit - 1)
    assert not domain.may_send_reset_code(a_user(), limit)
    assert not domain.may_send_reset_code(None, 0)
    assert not domain.may_send_reset_code(a_user(status=domain.USER_DEACTIVATED), 0)


# ---------------------------------------------------------------- new passwords


@pytest.mark.parametrize("password", ["x" * 7, "x" * 129, ""])
def test_a_new_password_outside_8_to_128_characters_is_refused_by_its_field(password):
    with pytest.raises(InvalidArgument) as refused:
        domain.check_password_policy(password, "new_password")
    assert set(refused.value.fields) == {"new_password"}


@pytest.mark.parametrize("password", ["x" * 8, "x" * 128])
def test_a_new_password_of_8_or_128_characters_is_accepted(password):
    domain.check_password_policy(password, "new_password")


def test_a_changed_password_must_differ_from_the_current_one():
    with pytest.raises(InvalidArgument) as refused:
        domain.ensure_password_differs("Correct-Horse-7", "Correct-Horse-7")
    assert set(refused.value.fields) == {"new_password"}
    domain.ensure_password_differs("Correct-Horse-7", "Correct-Horse-8")


def test_a_wrong_current_password_is_reported_on_its_field():
    assert set(domain.WRONG_CURRENT_PASSWORD) == {"current_password"}
    assert set(domain.WRONG_RESET_CODE) == {"code"}


# ---------------------------------------------------------------- home screen


def test_preferences_default_to_nothing_pinned_in_russian():
    assert domain.DEFAULT_PREFERENCES.pinned == ()
    assert domain.DEFAULT_PREFERENCES.locale == "ru"


def test_the_catalogue_has_the_cabinets_functions_each_with_a_russian_title():
    expected = {
        "tariff_change",
        "services",
        "blocks",
        "limits",
        "forwarding",
        "sim_replacement",
        "number_replacement",
        "sms",
        "transfers",
        "promised_payment",
        "bill_delivery",
        "financial_documents",
        "reports",
        "operations",
        "tickets",
        "users",
        "hierarchy",
    }
    assert expected <= set(domain.FUNCTIONS)
    assert all(re.search("[А-Яа-яЁё]", title) for title in domain.FUNCTIONS.values())
    assert domain.FUNCTIONS["transfers"] == "Перенос средств с ЛС донора"


def test_pinned_functions_keep_their_order_and_the_locale_is_normalised():
    preferences = domain.checked_preferences(["reports", "tariff_change", "sms"], " EN ")
    assert preferences.pinned == ("reports", "tariff_change", "sms")
    assert preferences.locale == "en"


def test_an_empty_locale_means_russian():
    assert domain.checked_preferences([], "").locale == "ru"


def test_an_unknown_function_is_refused_by_its_position():
    with pytest.raises(InvalidArgument) as refused:
        domain.checked_preferences(["reports", "teleport"], "ru")
    assert set(refused.value.fields) == {"pinned.1"}


def test_a_function_pinned_twice_is_refused():
    with pytest.raises(InvalidArgument) as refused:
        domain.checked_preferences(["reports", "sms", "reports"], "ru")
    assert set(refused.value.fields) == {"pinned.2"}


def test_at_most_twelve_functions_are_pinned():
    functions = list(domain.FUNCTIONS)
    assert len(domain.checked_preferences(functions[:12], "ru").pinned) == 12
    with pytest.raises(InvalidArgument) as refused:
        domain.checked_preferences(functions[:13], "ru")
    assert set(refused.value.fields) == {"pinned"}


@pytest.mark.parametrize("locale", ["de", "russian", "ru-RU"])
def test_an_unknown_locale_is_refused_by_its_field(locale):
    with pytest.raises(InvalidArgument) as refused:
        domain.checked_preferences(["reports"], locale)
    assert set(refused.value.fields) == {"locale"}


@given(st.lists(st.sampled_from(sorted(domain.FUNCTIONS)), unique=True, max_size=12))
def test_any_set_of_known_functions_up_to_twelve_is_accepted_as_given(pinned):
    assert domain.checked_preferences(pinned, "ru").pinned == tuple(pinned)
