"""Two-factor login with a TOTP app: enrolment in "My settings", and the login's second step.

Rules in domain.two_factor; wrong codes are throttled by the LoginGuard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity.domain import User, two_factor
from services.identity.domain.two_factor import MFA_EXPIRED, TwoFactor
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps, identity_event
from services.identity.service.login_guard import LoginGuard
from services.identity.service.sessions import SessionIssuer, Tokens
from services.kit.context import Caller
from services.kit.errors import InvalidArgument, NotAllowed, Unauthenticated
from services.kit.events import Event
from vm.identity.events.v1 import events_pb2


@dataclass(frozen=True)
class Enrollment:
    """Shown once, to the user who enrols: the secret and the URI for a QR code."""

    secret: str
    otpauth_uri: str

    def __repr__(self) -> str:
        return "Enrollment(…)"


@dataclass(frozen=True)
class MfaRequired:
    """A right password of a user with two-factor login on: the code is needed next."""

    mfa_token: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"MfaRequired(expires_at={self.expires_at.isoformat()})"


def _changed(event_type: str, user: User) -> Event:
    return identity_event(
        event_type,
        events_pb2.TwoFactorChanged(company_id=user.company_id, user_id=user.id),
        company_id=user.company_id,
        subject=user.id,
    )


class TwoFactorCases:
    """The caller's own two-factor settings."""

    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access
        self._store = deps.stores.two_factor
        self._guard = LoginGuard(deps)

    async def start_enrollment(self, caller: Caller) -> Enrollment:
        user, _ = await self._access.caller(caller)
        current = await self._store.get(user.company_id, user.id)
        pending = two_factor.start_enrollment(current, user.id, user.company_id, self._deps.clock())
        if not await self._store.save_pending(pending):
            raise NotAllowed("two-factor login is already on", reason="TWO_FACTOR_ALREADY_ENABLED")
        secret = pending.pending_secret or ""
        return Enrollment(secret, two_factor.otpauth_uri(secret, user.login))

    async def confirm_enrollment(self, caller: Caller, code: str) -> None:
        user, _ = await self._access.caller(caller)

        async def confirm() -> None:
            now = self._deps.clock()
            pending = two_factor.ensure_pending(
                await self._store.get(user.company_id, user.id), now
            )
            enabled = two_factor.confirm_enrollment(pending, code, now)
            await self._save(user, pending, enabled, "vm.identity.two_factor.enabled.v1")

        await self._guard.check_code(user.id, confirm)

    async def disable(self, caller: Caller, code: str) -> None:
        user, _ = await self._access.caller(caller)

        async def disable() -> None:
            current = two_factor.ensure_enabled(await self._store.get(user.company_id, user.id))
            two_factor.check_code(current, code, self._deps.clock())
            await self._save(user, current, None, "vm.identity.two_factor.disabled.v1")

        await self._guard.check_code(user.id, disable)

    async def _save(
        self, user: User, before: TwoFactor, after: TwoFactor | None, event_type: str
    ) -> None:
        async def write(tx: AsyncClientSession) -> None:
            if after is None:
                saved = await self._store.delete_if_step(before, tx)
            else:
                saved = await self._store.replace_if_step(before, after, tx)
            if not saved:
                # Another request used this code (or changed the settings) first.
                raise InvalidArgument("the code has been used already", two_factor.USED_CODE)
            await self._deps.stores.users.set_two_factor_enabled(
                user.company_id, user.id, after is not None, tx
            )
            await self._deps.outbox.add(tx, _changed(event_type, user))

        await self._deps.transactions.run(write)


class MfaLogin:
    """The second step of a login with two-factor login on."""

    def __init__(self, deps: Deps, sessions: SessionIssuer, guard: LoginGuard) -> None:
        self._deps = deps
        self._sessions = sessions
        self._guard = guard
        self._store = deps.stores.two_factor

    async def challenge_if_enabled(self, user: User) -> MfaRequired | None:
        """An MFA challenge when the user has two-factor login on; None otherwise.

        Decided by the settings themselves, not by the user's display flag."""
        settings = await self._store.get(user.company_id, user.id)
        if settings is None or not settings.enabled:
            return None
        token = two_factor.new_mfa_token()
        challenge = two_factor.new_mfa_challenge(
            token,
            company_id=user.company_id,
            user_id=user.id,
            login=user.login,
            now=self._deps.clock(),
        )
        await self._store.insert_challenge(challenge)
        return MfaRequired(token, challenge.expires_at)

    async def complete(self, mfa_token: str, code: str) -> Tokens:
        now = self._deps.clock()
        token = mfa_token.strip()
        challenge = None
        if token.startswith(two_factor.MFA_TOKEN_PREFIX) and len(token) < 100:
            challenge = await self._store.get_challenge(two_factor.mfa_token_digest(token))
        if challenge is None:
            raise Unauthenticated(MFA_EXPIRED)
        challenge.ensure_open(now)
        await self._guard.ensure_address_allowed()
        if await self._store.count_attempt(challenge) is None:
            raise Unauthenticated(MFA_EXPIRED)
        user = await self._deps.stores.users.get(challenge.company_id, challenge.user_id)
        settings = await self._store.get(challenge.company_id, challenge.user_id)
        if user is None or settings is None or not settings.enabled:
            raise Unauthenticated(MFA_EXPIRED)  # deleted, or two-factor turned off meanwhile
        user.ensure_can_log_in()
        try:
            after = two_factor.check_code(settings, code, now)
        except InvalidArgument:
            await self._guard.second_factor_failed(challenge.login)
            raise
        refresh_secret, session = self._sessions.new_session(user)

        async def write(tx: AsyncClientSession) -> None:
            if not await self._store.use_challenge(challenge, tx):
                raise Unauthenticated(MFA_EXPIRED)
            if not await self._store.replace_if_step(settings, after, tx):
                raise InvalidArgument("the code has been used already", two_factor.USED_CODE)
            await self._deps.stores.sessions.insert(session, tx)

        await self._deps.transactions.run(write)
        await self._guard.succeeded(challenge.login)
        return self._sessions.tokens_for(user, session, refresh_secret)
