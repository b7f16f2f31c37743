"""Login throttling: how long a login, or a client address, must wait after failures.

Two counters slow password guessing down, both kept for a short while only:

- **Per login.** The first failures are free (a typo is not an attack); from the 3rd failure
  on, the next attempt must wait 1, 2, 4, 8 … seconds, never more than a minute. The count is
  forgotten 15 minutes after the last failure, and a success resets it. This is the "lock"
  a guesser of one login meets, and it is deliberately short: anyone can make a login fail
  (it is not a secret), so a long lock would let anyone lock any user out (OWASP ASVS V6.1.1,
  the account-lockout denial of service).
- **Per client address.** 20 failures within 15 minutes (any logins) lock the address for
  15 minutes. This is the strict limit, because it hurts the guesser and not the victim:
  it stops one address from spraying guesses over many logins.

A correct password during the login's delay. Checking the password while the login waits
would turn the delay into an oracle (a wrong password answered "wait", a right one let in,
at full speed), so by default an attempt that must wait is refused before the password is
looked at. The one exception is an address from which this login has completed a sign-in
within the last 30 days (a "known address", the device-cookie defence of OWASP's
authentication cheat sheet, keyed by the address because the API has no cookies): it skips
the login's delay as long as the address itself is not throttled. Why that is safe enough:
a guesser must already sit behind the user's own address, and there every wrong password
still counts towards the address's strict limit of 20 per 15 minutes, so guessing through
that door is no faster than the address limit; in exchange, an attacker who keeps a login
in its delay from elsewhere cannot keep its user out of their usual place of work.

Attempts are counted when they start (and forgotten again when the password is right), so
that simultaneous guesses cannot all pass the check before the first failure is recorded.

Pure rules: time is passed in; nothing here reads a clock or a store. The counters are
kept under digests of the login and the address, not the values themselves.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

LOGIN_FREE_FAILURES = 2
LOGIN_DELAY_CAP = timedelta(seconds=60)
LOGIN_MEMORY = timedelta(minutes=15)

ADDRESS_MAX_FAILURES = 20
ADDRESS_WINDOW = timedelta(minutes=15)
ADDRESS_LOCK = timedelta(minutes=15)

KNOWN_ADDRESS_MEMORY = timedelta(days=30)

NO_WAIT = timedelta(0)


@dataclass(frozen=True)
class Failures:
    """One counter as stored: how many failures, the first and the last, and until when the
    count means anything (after `expires_at` it is as if there were none)."""

    count: int
    first_at: datetime
    last_at: datetime
    expires_at: datetime

    def live(self, now: datetime) -> bool:
        return now < self.expires_at


def login_delay(failures: int) -> timedelta:
    """How long a login waits after `failures` failures in a row: 0, 0, 1 s, 2 s, 4 s … 60 s."""
    if failures <= LOGIN_FREE_FAILURES:
        return NO_WAIT
    doublings = failures - LOGIN_FREE_FAILURES - 1
    if doublings >= 6:  # 2**6 s is past the cap already; never build huge numbers
        return LOGIN_DELAY_CAP
    return min(timedelta(seconds=2**doublings), LOGIN_DELAY_CAP)


def login_wait(failures: Failures | None, now: datetime) -> timedelta:
    """What is left of the login's delay now."""
    if failures is None or not failures.live(now):
        return NO_WAIT
    return max(NO_WAIT, failures.last_at + login_delay(failures.count) - now)


def address_locked(failures: int) -> bool:
    return failures >= ADDRESS_MAX_FAILURES


def address_wait(failures: Failures | None, now: datetime) -> timedelta:
    """What is left of the address's lock now (none below the threshold)."""
    if failures is None or not failures.live(now) or not address_locked(failures.count):
        return NO_WAIT
    return max(NO_WAIT, failures.last_at + ADDRESS_LOCK - now)


def wait_before_attempt(
    login: Failures | None, address: Failures | None, *, known_address: bool, now: datetime
) -> timedelta:
    """How long this attempt must wait before its password may be checked (0: go ahead).

    A throttled address always waits; a known address skips the login's delay (see the
    module's docstring for why).
    """
    locked = address_wait(address, now)
    if locked > NO_WAIT:
        return locked
    if known_address:
        return NO_WAIT
    return login_wait(login, now)


def retry_after_seconds(wait: timedelta) -> int:
    """Whole seconds for a Retry-After: rounded up, so a client that obeys is not early."""
    return max(1, math.ceil(wait.total_seconds()))


def login_expiry(now: datetime) -> datetime:
    """A login's count is forgotten this long after its latest failure."""
    return now + LOGIN_MEMORY


def address_expiry(first_failure_at: datetime, last_failure_at: datetime, count: int) -> datetime:
    """An address's count lasts its window; once it locks, until the lock ends."""
    if address_locked(count):
        return last_failure_at + ADDRESS_LOCK
    return first_failure_at + ADDRESS_WINDOW


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def login_key(normalized_login: str) -> str:
    return f"login:{_digest('login', normalized_login)}"


def address_key(address: str) -> str:
    return f"address:{_digest('address', address)}"


def known_address_key(normalized_login: str, address: str) -> str:
    return f"known:{_digest('known', normalized_login, address)}"


def code_attempts_key(user_id: str) -> str:
    """Wrong two-factor codes of a signed-in user (enrolment, turning it off) count here,
    under the same rules as a login's failures."""
    return f"code:{_digest('code', user_id)}"
