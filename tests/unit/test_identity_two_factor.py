"""Two-factor rules: enrolment, codes within the drift, codes used once, MFA challenges."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlparse

import pyotp
import pytest

from services.identity.domain import two_factor
from services.identity.domain.two_factor import (
    MFA_MAX_ATTEMPTS,
    MFA_TTL,
    TwoFactor,
    check_code,
    confirm_enrollment,
    start_enrollment,
)
from services.kit.errors import InvalidArgument, NotAllowed, Unauthenticated

NOW = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def wrong_code(secret: str, now: datetime) -> str:
    """A code that no step within the drift has."""
    taken = {code_at(secret, now + k * STEP) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in taken)


def enrolled(now: datetime = NOW) -> TwoFactor:
    pending = start_enrollment(None, "usr_1", "cmp_1", now)
    return confirm_enrollment(pending, code_at(pending.pending_secret or "", now), now)


def test_enrolment_gives_a_pending_base32_secret_and_an_otpauth_uri():
    pending = start_enrollment(None, "usr_1", "cmp_1", NOW)
    secret = pending.pending_secret or ""
    assert not pending.enabled and len(secret) == 32
    uri = urlparse(two_factor.otpauth_uri(secret, "ivanov"))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == "/Виртуальный менеджер:ivanov"
    query = parse_qs(uri.query)
    assert query["secret"] == [secret] and query["issuer"] == ["Виртуальный менеджер"]


def test_a_current_code_turns_it_on_and_remembers_the_step():
    settings = enrolled()
    assert settings.enabled and settings.pending_secret is None
    assert settings.last_step == two_factor.step_at(NOW)


def test_a_wrong_code_does_not_confirm_and_names_the_field():
    pending = start_enrollment(None, "usr_1", "cmp_1", NOW)
    with pytest.raises(InvalidArgument) as raised:
        confirm_enrollment(pending, wrong_code(pending.pending_secret or "", NOW), NOW)
    assert set(raised.value.fields) == {"code"}


def test_confirming_without_an_enrolment_or_after_it_expired_is_refused():
    with pytest.raises(NotAllowed):
        confirm_enrollment(None, "123456", NOW)
    pending = start_enrollment(None, "usr_1", "cmp_1", NOW)
    late = NOW + two_factor.PENDING_TTL
    with pytest.raises(NotAllowed):
        confirm_enrollment(pending, code_at(pending.pending_secret or "", late), late)


def test_enrolling_again_while_it_is_on_is_refused():
    with pytest.raises(NotAllowed):
        start_enrollment(enrolled(), "usr_1", "cmp_1", NOW)


def test_codes_of_the_neighbouring_steps_pass_and_farther_ones_do_not():
    settings = replace(enrolled(), last_step=-1)
    secret = settings.secret or ""
    for drift in (-STEP, STEP):
        assert check_code(settings, code_at(secret, NOW + drift), NOW).enabled
    for far in (-2 * STEP, 2 * STEP):
        code = code_at(secret, NOW + far)
        if code in {code_at(secret, NOW + d) for d in (-STEP, 0 * STEP, STEP)}:
            continue  # a chance collision of two steps' codes says nothing
        with pytest.raises(InvalidArgument):
            check_code(settings, code, NOW)


def test_a_code_is_accepted_once_and_never_an_earlier_one_after_it():
    settings = enrolled()
    secret = settings.secret or ""
    later = NOW + STEP
    after = check_code(settings, code_at(secret, later), later)
    assert after.last_step == two_factor.step_at(later)
    with pytest.raises(InvalidArgument) as replayed:
        check_code(after, code_at(secret, later), later)
    assert replayed.value.fields == two_factor.USED_CODE
    with pytest.raises(InvalidArgument):
        check_code(after, code_at(secret, NOW), later)  # the previous step: still within drift


def test_the_code_used_to_confirm_cannot_log_in():
    settings = enrolled()
    with pytest.raises(InvalidArgument):
        check_code(settings, code_at(settings.secret or "", NOW), NOW)


def test_codes_are_six_digits_spaces_allowed():
    settings = replace(enrolled(), last_step=-1)
    code = code_at(settings.secret or "", NOW)
    assert check_code(settings, f"{code[:3]} {code[3:]}", NOW).enabled
    for junk in ("", "12345", "1234567", "abcdef", code + "0"):
        with pytest.raises(InvalidArgument):
            check_code(settings, junk, NOW)


def test_turning_off_needs_it_on():
    with pytest.raises(NotAllowed):
        two_factor.ensure_enabled(None)
    with pytest.raises(NotAllowed):
        two_factor.ensure_enabled(start_enrollment(None, "usr_1", "cmp_1", NOW))


def test_the_secret_is_not_in_the_settings_repr():
    settings = enrolled()
    assert settings.secret and settings.secret not in repr(settings)


def test_an_mfa_challenge_is_stored_as_a_digest_and_lives_five_minutes_and_five_tries():
    token = two_factor.new_mfa_token()
    challenge = two_factor.new_mfa_challenge(
        token, company_id="cmp_1", user_id="usr_1", login="ivanov", now=NOW
    )
    assert token.startswith("mfa_") and token not in repr(challenge)
    assert challenge.id == two_factor.mfa_token_digest(token) != token
    challenge.ensure_open(NOW + MFA_TTL - timedelta(seconds=1))
    for spent in (
        replace(challenge, used=True),
        replace(challenge, attempts=MFA_MAX_ATTEMPTS),
    ):
        with pytest.raises(Unauthenticated):
            spent.ensure_open(NOW)
    with pytest.raises(Unauthenticated):
        challenge.ensure_open(NOW + MFA_TTL)
