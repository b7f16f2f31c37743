"""Login throttling around the checks of passwords and two-factor codes.

The rules (delays, thresholds, the known-address exception) are in domain.throttling; this
loads the counters, asks the rules, and counts. A check that must wait is refused with
RateLimited before the password or code is looked at.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from services.identity import domain
from services.identity.domain import throttling
from services.identity.domain.throttling import NO_WAIT, Failures
from services.identity.service.base import Deps
from services.kit.context import client_address_var
from services.kit.errors import RateLimited, Unauthenticated

T = TypeVar("T")

# Simultaneous attempts on one login: each retry sees the count the winner left.
CLAIM_TRIES = 3


@dataclass(frozen=True)
class _Keys:
    login: str
    address: str | None  # None when the caller's address is not known (a direct call)
    known: str | None

    @classmethod
    def of(cls, login: str) -> _Keys:
        normalized = domain.normalize_login(login)
        address = client_address_var.get()
        if not address:
            return cls(throttling.login_key(normalized), None, None)
        return cls(
            throttling.login_key(normalized),
            throttling.address_key(address),
            throttling.known_address_key(normalized, address),
        )

    @property
    def all(self) -> list[str]:
        return [key for key in (self.login, self.address, self.known) if key]


def _rate_limited(wait: timedelta) -> RateLimited:
    seconds = throttling.retry_after_seconds(wait)
    return RateLimited(f"too many failed attempts; try again in {seconds} s", seconds)


class LoginGuard:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._store = deps.stores.throttle

    async def check_password(self, login: str, verify: Callable[[], Awaitable[T]]) -> T:
        """Runs `verify` (the password check) if the login and the address may try now.

        The attempt is counted as a failure before `verify` runs; an Unauthenticated from
        it also counts against the address. A success is not forgotten here: the caller
        says `succeeded` once the whole sign-in (a second factor included) is done.
        """
        keys = _Keys.of(login)
        now = await self._claim(keys)
        try:
            return await verify()
        except Unauthenticated:
            await self._address_failed(keys, now)
            raise

    async def succeeded(self, login: str) -> None:
        """The sign-in is complete: the login's count starts again, and its address is
        remembered as one this login signs in from."""
        keys = _Keys.of(login)
        await self._store.forget(keys.login)
        if keys.known:
            expires_at = self._deps.clock() + throttling.KNOWN_ADDRESS_MEMORY
            await self._store.mark(keys.known, expires_at)

    async def ensure_address_allowed(self) -> None:
        address = client_address_var.get()
        if not address:
            return
        key = throttling.address_key(address)
        counters, _ = await self._store.load(key)
        wait = throttling.address_wait(counters.get(key), self._deps.clock())
        if wait > NO_WAIT:
            raise _rate_limited(wait)

    async def second_factor_failed(self, login: str) -> None:
        """A wrong code after a right password counts like a wrong password."""
        keys = _Keys.of(login)
        now = self._deps.clock()
        await self._store.add_failure(
            keys.login, now, window_ends_at=throttling.login_expiry(now), sliding=True
        )
        await self._address_failed(keys, now)

    async def check_code(self, user_id: str, verify: Callable[[], Awaitable[T]]) -> T:
        """Runs `verify` (a signed-in user's two-factor code check) under the login's rules,
        so that a stolen session cannot try every code to turn two-factor login off."""
        key = throttling.code_attempts_key(user_id)
        await self._claim(_Keys(key, None, None))
        result = await verify()  # a wrong code raises, and stays counted
        await self._store.forget(key)
        return result

    async def _claim(self, keys: _Keys) -> datetime:
        for _ in range(CLAIM_TRIES):
            now = self._deps.clock()
            counters, marks = await self._store.load(*keys.all)
            seen = counters.get(keys.login)
            wait = throttling.wait_before_attempt(
                seen,
                counters.get(keys.address) if keys.address else None,
                known_address=keys.known in marks,
                now=now,
            )
            if wait > NO_WAIT:
                raise _rate_limited(wait)
            if await self._store.claim_attempt(keys.login, seen, now, throttling.login_expiry(now)):
                return now
        raise RateLimited("another attempt for this login is being checked; try again", 1)

    async def _address_failed(self, keys: _Keys, now: datetime) -> None:
        if keys.address is None:
            return
        counted: Failures = await self._store.add_failure(
            keys.address, now, window_ends_at=now + throttling.ADDRESS_WINDOW, sliding=False
        )
        if throttling.address_locked(counted.count):
            until = throttling.address_expiry(counted.first_at, counted.last_at, counted.count)
            await self._store.keep_until(keys.address, until)
