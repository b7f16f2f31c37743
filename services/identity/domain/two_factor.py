"""Two-factor login with a TOTP app (RFC 6238: 6 digits, 30-second steps, SHA-1).

Opt-in per user: enrolment gives a secret (and an otpauth:// URI for a QR code), which
stays pending until the user proves the app has it by sending a current code. From then
on a correct password alone gives no tokens but an MFA challenge: an opaque token, valid
for 5 minutes and 5 code attempts, used once. Turning it off needs a current code too.

A code is accepted for the current step and one step either side (clock drift), and each
step's code is accepted once per user: the last accepted step is remembered and a code of
that step or an earlier one is refused, so a code seen over someone's shoulder is useless.

The secret is never logged and leaves the service only in the enrolment answer; the MFA
token is stored only as a digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import pyotp

from services.kit.errors import InvalidArgument, NotAllowed, Unauthenticated

ISSUER = "Виртуальный менеджер"
DIGITS = 6
STEP_SECONDS = 30
DRIFT_STEPS = 1
PENDING_TTL = timedelta(minutes=15)

MFA_TOKEN_PREFIX = "mfa_"
MFA_TOKEN_BYTES = 32
MFA_TTL = timedelta(minutes=5)
MFA_MAX_ATTEMPTS = 5

WRONG_CODE = {"code": "the code is not right; enter the current code from the app"}
USED_CODE = {"code": "this code has been used already; wait for the next one"}


def new_secret() -> str:
    """160 random bits in base32, as RFC 4226 recommends and authenticator apps expect."""
    return pyotp.random_base32(32)


def otpauth_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=login, issuer_name=ISSUER
    )


def step_at(moment: datetime) -> int:
    return int(moment.timestamp()) // STEP_SECONDS


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code this is (within the drift allowed), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = step_at(now)
    # Check every candidate (no early exit) so the time taken says nothing about which.
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


@dataclass(frozen=True)
class TwoFactor:
    """A user's two-factor settings: the active secret (on when set), an enrolment in
    progress, and the last time step whose code was accepted."""

    id: str  # the user's id
    company_id: str
    secret: str | None = field(default=None, repr=False)
    pending_secret: str | None = field(default=None, repr=False)
    pending_until: datetime | None = None
    last_step: int = -1

    @property
    def enabled(self) -> bool:
        return self.secret is not None


def start_enrollment(
    current: TwoFactor | None, user_id: str, company_id: str, now: datetime
) -> TwoFactor:
    """A new pending secret (replacing any earlier pending one)."""
    if current is not None and current.enabled:
        raise NotAllowed(
            "two-factor login is already on; turn it off first to enrol another app",
            reason="TWO_FACTOR_ALREADY_ENABLED",
        )
    base = current or TwoFactor(id=user_id, company_id=company_id)
    return replace(base, pending_secret=new_secret(), pending_until=now + PENDING_TTL)


def accepted_step(secret: str, code: str, last_step: int, now: datetime) -> int:
    """The step of a correct, not yet used code; a wrong or reused code is a 422 on `code`."""
    step = matching_step(secret, code, now)
    if step is None:
        raise InvalidArgument("the code is not right", WRONG_CODE)
    if step <= last_step:
        raise InvalidArgument("the code has been used already", USED_CODE)
    return step


def ensure_pending(current: TwoFactor | None, now: datetime) -> TwoFactor:
    """The settings with an enrolment in progress (not expired)."""
    if (
        current is None
        or current.pending_secret is None
        or current.pending_until is None
        or now >= current.pending_until
    ):
        raise NotAllowed(
            "no enrolment is in progress; start one again", reason="TWO_FACTOR_NOT_PENDING"
        )
    if current.enabled:
        raise NotAllowed("two-factor login is already on", reason="TWO_FACTOR_ALREADY_ENABLED")
    return current


def confirm_enrollment(current: TwoFactor | None, code: str, now: datetime) -> TwoFactor:
    """Two-factor login on: the pending secret becomes the active one."""
    pending = ensure_pending(current, now)
    step = accepted_step(pending.pending_secret or "", code, pending.last_step, now)
    return replace(
        pending,
        secret=pending.pending_secret,
        pending_secret=None,
        pending_until=None,
        last_step=step,
    )


def ensure_enabled(current: TwoFactor | None) -> TwoFactor:
    if current is None or not current.enabled:
        raise NotAllowed("two-factor login is not on", reason="TWO_FACTOR_NOT_ENABLED")
    return current


def check_code(current: TwoFactor, code: str, now: datetime) -> TwoFactor:
    """The settings after a correct code (its step remembered); raises for a wrong one."""
    enabled = ensure_enabled(current)
    step = accepted_step(enabled.secret or "", code, enabled.last_step, now)
    return replace(enabled, last_step=step)


# ---------------------------------------------------------------- the login's second step


def new_mfa_token() -> str:
    return MFA_TOKEN_PREFIX + secrets.token_urlsafe(MFA_TOKEN_BYTES)


def mfa_token_digest(token: str) -> str:
    return hashlib.sha256(token.strip().encode()).hexdigest()


MFA_EXPIRED = "the sign-in has expired or was completed; log in again"


@dataclass(frozen=True)
class MfaChallenge:
    """A password-checked login waiting for its code. `id` is the digest of the token."""

    id: str
    company_id: str
    user_id: str
    login: str
    expires_at: datetime
    attempts: int = 0
    used: bool = False

    def ensure_open(self, now: datetime) -> None:
        if self.used or now >= self.expires_at or self.attempts >= MFA_MAX_ATTEMPTS:
            raise Unauthenticated(MFA_EXPIRED)


def new_mfa_challenge(
    token: str, *, company_id: str, user_id: str, login: str, now: datetime
) -> MfaChallenge:
    return MfaChallenge(
        id=mfa_token_digest(token),
        company_id=company_id,
        user_id=user_id,
        login=login,
        expires_at=now + MFA_TTL,
    )
