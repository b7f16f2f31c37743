"""Getting in and out: registration, login, refresh, logout."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity import domain
from services.identity.domain import Assignment, Registration, User
from services.identity.service.base import (
    DUMMY_HASH,
    Deps,
    hash_password,
    identity_event,
    password_matches,
)
from services.identity.service.login_guard import LoginGuard
from services.identity.service.sessions import SessionIssuer, Tokens
from services.identity.service.two_factor import MfaLogin, MfaRequired
from services.kit.context import Caller
from services.kit.errors import (
    Conflict,
    DomainError,
    InvalidArgument,
    NotAllowed,
    NotFound,
    Unauthenticated,
)
from services.kit.events import Event
from services.kit.ids import new_id
from services.kit.metrics import LOGINS
from vm.identity.events.v1 import events_pb2

WRONG_LOGIN = "the login or the password is wrong"


class AuthCases:
    def __init__(self, deps: Deps, sessions: SessionIssuer) -> None:
        self._deps = deps
        self._stores = deps.stores
        self._sessions = sessions
        self._guard = LoginGuard(deps)
        self._mfa = MfaLogin(deps, sessions, self._guard)

    # ---------------------------------------------------------------- registration

    async def start_registration(self, main_number: str, email: str) -> Registration:
        msisdn, email = domain.registration_request(main_number, email)
        company = await self._stores.companies.by_main_number(msisdn)
        accepted = domain.company_accepts_registration(company, email)
        registration_id = new_id("reg")
        sms_code, email_code = domain.new_code(), domain.new_code()
        registration = Registration(
            id=registration_id,
            company_id=company.id if company and accepted else None,
            main_number=msisdn,
            email=email,
            sms_code_digest=domain.code_digest(registration_id, "sms", sms_code),
            email_code_digest=domain.code_digest(registration_id, "email", email_code),
            expires_at=self._deps.clock() + domain.CODE_TTL,
        )
        await self._stores.registrations.insert(registration)
        if accepted:
            await self._send_registration_codes(msisdn, email, sms_code, email_code)
        return registration

    async def _send_registration_codes(
        self, msisdn: str, email: str, sms_code: str, email_code: str
    ) -> None:
        minutes = int(domain.CODE_TTL.total_seconds() // 60)
        await self._deps.sms.send_sms(
            msisdn,
            f"Код подтверждения регистрации в Виртуальном менеджере: {sms_code}. "
            f"Действует {minutes} минут. Никому его не сообщайте.",
        )
        await self._deps.mail.send_mail(
            email,
            "Регистрация в Виртуальном менеджере",
            "Здравствуйте!\n\n"
            "Для вашей компании начата регистрация в Виртуальном менеджере — личном кабинете "
            "для управления корпоративными номерами.\n\n"
            f"Код подтверждения e-mail: {email_code}\n"
            f"Код действует {minutes} минут. Второй код пришёл SMS на главный номер "
            "предприятия.\n\nЕсли вы не начинали регистрацию, просто проигнорируйте это письмо.",
        )

    async def confirm_registration(
        self, registration_id: str, sms_code: str, email_code: str, password: str
    ) -> Tokens:
        domain.check_password_policy(password)
        before = await self._stores.registrations.get(registration_id)
        if before is None:
            raise NotFound("no such registration")
        now = self._deps.clock()
        before.ensure_open(now)
        after = before.try_codes(sms_code, email_code)
        if not after.completed:
            await self._stores.registrations.record_attempt(before, after)
            raise InvalidArgument("the codes do not match", domain.WRONG_CODES)
        user = User(
            id=new_id("usr"),
            company_id=after.company_id or "",
            login=after.main_number,
            full_name="Глобальный администратор",
            email=after.email,
            password_hash=await hash_password(password),
            created_at=now,
            assignments=(Assignment("global_admin"),),
        )
        refresh_secret, session = self._sessions.new_session(user)

        async def write(tx: AsyncClientSession) -> None:
            if not await self._stores.registrations.record_attempt(before, after, tx):
                raise Conflict("this registration is being confirmed by another request")
            if not await self._stores.companies.mark_registered(user.company_id, tx):
                raise NotAllowed(
                    "the company is already registered; log in or reset the password",
                    reason="ALREADY_REGISTERED",
                )
            await self._stores.users.insert(user, tx)
            await self._stores.sessions.insert(session, tx)
            await self._deps.outbox.add(tx, *_registration_events(user))

        await self._deps.transactions.run(write)
        return self._sessions.tokens_for(user, session, refresh_secret)

    # ---------------------------------------------------------------- sessions

    async def login(self, login: str, password: str) -> Tokens | MfaRequired:
        try:
            user = await self.check_password_login(login, password)
        except DomainError as refused:
            LOGINS.labels(refused.reason.lower()).inc()
            raise
        if challenge := await self._mfa.challenge_if_enabled(user):
            LOGINS.labels("mfa_required").inc()
            return challenge
        tokens = await self._sessions.open(user)
        await self._guard.succeeded(login)
        LOGINS.labels("succeeded").inc()
        return tokens

    async def complete_mfa_login(self, mfa_token: str, code: str) -> Tokens:
        return await self._mfa.complete(mfa_token, code)

    async def check_password_login(self, login: str, password: str) -> User:
        """The password check under login throttling (see domain.throttling)."""
        return await self._guard.check_password(
            login, lambda: self._check_password(login, password)
        )

    async def _check_password(self, login: str, password: str) -> User:
        """The user whose login and password these are (timing does not tell which failed)."""
        if not login.strip() or not password or len(password) > domain.PASSWORD_MAX:
            raise Unauthenticated(WRONG_LOGIN)
        user = await self._stores.users.by_login(domain.normalize_login(login))
        matches = await password_matches(user.password_hash if user else DUMMY_HASH, password)
        if user is None or not matches:
            raise Unauthenticated(WRONG_LOGIN)
        user.ensure_can_log_in()
        return user

    async def refresh(self, refresh_token: str) -> Tokens:
        sessions = self._stores.sessions
        session_id, secret = domain.split_refresh_token(refresh_token)
        current = await sessions.get(session_id)
        if current is None:
            raise Unauthenticated("the refresh token is not valid")
        current.check_refresh(secret, self._deps.clock())
        if current.reused:
            await sessions.revoke_family(current.company_id, current.family_id)
            raise Unauthenticated("this refresh token was already used; the session is ended")
        user = await self._stores.users.get(current.company_id, current.user_id)
        if user is None:
            raise Unauthenticated("the session has ended; log in again")
        user.ensure_can_log_in()
        refresh_secret, rotated = self._sessions.new_session(user, family_id=current.family_id)

        async def write(tx: AsyncClientSession) -> bool:
            if not await sessions.rotate(current.id, tx):
                return False
            await sessions.insert(rotated, tx)
            return True

        if not await self._deps.transactions.run(write):
            # Another request rotated this token first: it was used twice.
            await sessions.revoke_family(current.company_id, current.family_id)
            raise Unauthenticated("this refresh token was already used; the session is ended")
        return self._sessions.tokens_for(user, rotated, refresh_secret)

    async def logout(self, caller: Caller, refresh_token: str) -> None:
        session_id, secret = domain.split_refresh_token(refresh_token)
        current = await self._stores.sessions.get(session_id)
        if (
            current is None
            or current.company_id != caller.company_id
            or current.user_id != caller.user_id
        ):
            raise Unauthenticated("the refresh token is not valid")
        if not current.revoked:
            current.check_refresh(secret, self._deps.clock())
        await self._stores.sessions.revoke_family(current.company_id, current.family_id)


def _registration_events(user: User) -> list[Event]:
    return [
        identity_event(
            "vm.identity.company.registered.v1",
            events_pb2.CompanyRegistered(company_id=user.company_id, admin_user_id=user.id),
            company_id=user.company_id,
            subject=user.company_id,
        ),
        identity_event(
            "vm.identity.user.created.v1",
            events_pb2.UserCreated(
                company_id=user.company_id,
                user_id=user.id,
                login=user.login,
                role_ids=[a.role_id for a in user.assignments],
            ),
            company_id=user.company_id,
            subject=user.id,
        ),
    ]
