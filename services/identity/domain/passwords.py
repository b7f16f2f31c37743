"""Passwords: the forgotten-password reset with a one-time code, and changing one's own.

A reset is started with nothing but a login, by anyone: the answer never tells whether the
login exists. A reset for an unknown (or deactivated) login is recorded all the same and
can never succeed, exactly like a registration that matched no company.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from services.identity.domain.registration import CODE_TTL, MAX_CODE_ATTEMPTS, code_digest
from services.identity.domain.users import USER_ACTIVE, User
from services.kit.errors import InvalidArgument, NotAllowed
from services.kit.phone import normalize_msisdn

ResetChannel = Literal["sms", "email"]

RESET_CODE_TTL = CODE_TTL
MAX_RESET_ATTEMPTS = MAX_CODE_ATTEMPTS
# A public endpoint that sends SMS must not let anyone flood a number: past this many
# resets of one user in the window, a new reset is recorded but no code goes out.
MAX_RESETS_PER_WINDOW = 5
RESET_WINDOW = timedelta(hours=1)

WRONG_RESET_CODE = {"code": "the code does not match; check it and try again"}
WRONG_CURRENT_PASSWORD = {"current_password": "the current password is wrong"}
SAME_PASSWORD = {"new_password": "the new password must differ from the current one"}


def reset_code_digest(reset_id: str, code: str) -> str:
    return code_digest(reset_id, "reset", code)


def reset_channel(user: User) -> ResetChannel:
    """A number login (the company's main number) gets its code by SMS to that number;
    a user's own login by e-mail to the user's address."""
    return "sms" if normalize_msisdn(user.login) else "email"


def may_send_reset_code(user: User | None, resets_in_window: int) -> bool:
    """Whether a code goes out: only to an active user, and not too often."""
    return (
        user is not None and user.status == USER_ACTIVE and resets_in_window < MAX_RESETS_PER_WINDOW
    )


@dataclass(frozen=True)
class PasswordReset:
    """A pending reset of one user's password. `user_id` is None when the login matched
    no active user: the reset looks the same from outside but can never succeed."""

    id: str
    company_id: str | None
    user_id: str | None
    channel: str
    code_digest: str
    created_at: datetime
    expires_at: datetime
    attempts: int = 0
    completed: bool = False

    def ensure_open(self, now: datetime) -> None:
        if self.completed or now >= self.expires_at or self.attempts >= MAX_RESET_ATTEMPTS:
            raise NotAllowed(
                "this password reset has expired or its attempts are used up; start a new one",
                reason="RESET_EXPIRED",
            )

    @property
    def attempts_left(self) -> int:
        return max(0, MAX_RESET_ATTEMPTS - self.attempts)

    def try_code(self, code: str) -> PasswordReset:
        """The reset after one attempt: completed when the code matches."""
        matches = hmac.compare_digest(reset_code_digest(self.id, code), self.code_digest)
        completed = matches and self.user_id is not None
        return replace(self, attempts=self.attempts + 1, completed=completed)


def ensure_password_differs(current_password: str, new_password: str) -> None:
    """A changed password is not the one it replaces (the caller has just proved
    `current_password`, so comparing the two texts is exact)."""
    if hmac.compare_digest(current_password.encode(), new_password.encode()):
        raise InvalidArgument("the new password is the current one", SAME_PASSWORD)
