"""Identity's use cases: load through the store, ask the domain, save + outbox in one
transaction, then (outside it) deliver messages."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity import domain
from services.identity.domain import (
    Assignment,
    Company,
    Registration,
    Scope,
    Session,
    User,
)
from services.identity.store import IdentityStore
from services.identity.tokens import TokenIssuer
from services.kit.context import Caller
from services.kit.delivery import MailSender, SmsCentre
from services.kit.errors import Conflict, InvalidArgument, NotAllowed, NotFound, Unauthenticated
from services.kit.events import new_event
from services.kit.ids import new_id
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from services.kit.phone import normalize_msisdn
from vm.identity.events.v1 import events_pb2

SOURCE = "/services/identity"
WRONG_LOGIN = "the login or the password is wrong"

# OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
PASSWORDS = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the login is unknown, so both answers take the same time.
_DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


@dataclass(frozen=True)
class Me:
    user: User
    company: Company
    scopes: list[Scope]

    @property
    def permissions(self) -> list[str]:
        granted = (
            set().union(*(scope.permissions for scope in self.scopes)) if self.scopes else set()
        )
        return [p for p in domain.ALL_PERMISSIONS if p in granted]


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(PASSWORDS.hash, password)


async def password_matches(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return PASSWORDS.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


class IdentityService:
    def __init__(
        self,
        *,
        store: IdentityStore,
        transactions: Transactions,
        outbox: Outbox,
        tokens: TokenIssuer,
        sms: SmsCentre,
        mail: MailSender,
        refresh_ttl: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._tx = transactions
        self._outbox = outbox
        self._tokens = tokens
        self._sms = sms
        self._mail = mail
        self._refresh_ttl = refresh_ttl
        self._now = clock

    # ---------------------------------------------------------------- the operator's side

    async def create_company(self, **details: str) -> Company:
        company = domain.new_company(company_id=new_id("cmp"), now=self._now(), **details)
        event = new_event(
            "vm.identity.company.created.v1",
            events_pb2.CompanyCreated(
                company_id=company.id,
                name=company.name,
                inn=company.inn,
                main_number=company.main_number,
                contact_email=company.contact_email,
                contract_number=company.contract_number,
            ),
            source=SOURCE,
            company_id=company.id,
            subject=company.id,
        )

        async def write(session: AsyncClientSession) -> None:
            await self._store.insert_company(company, session)
            await self._outbox.add(session, event)

        await self._tx.run(write)
        return company

    async def get_company(self, company_id: str) -> Company:
        company = await self._store.company(company_id)
        if company is None:
            raise NotFound("no such company")
        return company

    async def lookup_company(self, *, inn: str = "", main_number: str = "") -> Company:
        if main_number:
            msisdn = normalize_msisdn(main_number)
            if msisdn is None:
                raise InvalidArgument("not a mobile number", {"main_number": "like 79161234567"})
            company = await self._store.company_by_main_number(msisdn)
        elif inn:
            company = await self._store.company_by_inn(inn.strip())
        else:
            raise InvalidArgument("give an INN or a main number", {"key": "required"})
        if company is None:
            raise NotFound("no such company")
        return company

    # ---------------------------------------------------------------- registration

    async def start_registration(self, main_number: str, email: str) -> Registration:
        msisdn, email = domain.registration_request(main_number, email)
        company = await self._store.company_by_main_number(msisdn)
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
            expires_at=self._now() + domain.CODE_TTL,
        )
        await self._store.insert_registration(registration)
        if accepted:
            await self._send_registration_codes(msisdn, email, sms_code, email_code)
        return registration

    async def _send_registration_codes(
        self, msisdn: str, email: str, sms_code: str, email_code: str
    ) -> None:
        minutes = int(domain.CODE_TTL.total_seconds() // 60)
        await self._sms.send_sms(
            msisdn,
            f"Код подтверждения регистрации в Виртуальном менеджере: {sms_code}. "
            f"Действует {minutes} минут. Никому его не сообщайте.",
        )
        await self._mail.send_mail(
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
        before = await self._store.registration(registration_id)
        if before is None:
            raise NotFound("no such registration")
        now = self._now()
        before.ensure_open(now)
        after = before.try_codes(sms_code, email_code)
        if not after.completed:
            await self._store.record_attempt(before, after)
            raise InvalidArgument("the codes do not match", domain.WRONG_CODES)
        password_hash = await hash_password(password)
        user = User(
            id=new_id("usr"),
            company_id=after.company_id or "",
            login=after.main_number,
            full_name="Глобальный администратор",
            email=after.email,
            password_hash=password_hash,
            created_at=now,
            assignments=(Assignment("global_admin"),),
        )
        refresh_secret, session = self._new_session(user, family_id=None)

        async def write(tx: AsyncClientSession) -> None:
            if not await self._store.record_attempt(before, after, tx):
                raise Conflict("this registration is being confirmed by another request")
            if not await self._store.mark_company_registered(user.company_id, tx):
                raise NotAllowed(
                    "the company is already registered; log in or reset the password",
                    reason="ALREADY_REGISTERED",
                )
            await self._store.insert_user(user, tx)
            await self._store.insert_session(session, tx)
            await self._outbox.add(tx, *self._registration_events(user))

        await self._tx.run(write)
        return self._tokens_for(user, session, refresh_secret)

    def _registration_events(self, user: User) -> list:
        return [
            new_event(
                "vm.identity.company.registered.v1",
                events_pb2.CompanyRegistered(company_id=user.company_id, admin_user_id=user.id),
                source=SOURCE,
                company_id=user.company_id,
                subject=user.company_id,
            ),
            new_event(
                "vm.identity.user.created.v1",
                events_pb2.UserCreated(
                    company_id=user.company_id,
                    user_id=user.id,
                    login=user.login,
                    role_ids=[a.role_id for a in user.assignments],
                ),
                source=SOURCE,
                company_id=user.company_id,
                subject=user.id,
            ),
        ]

    # ---------------------------------------------------------------- sessions

    async def login(self, login: str, password: str) -> Tokens:
        if not login.strip() or not password or len(password) > domain.PASSWORD_MAX:
            raise Unauthenticated(WRONG_LOGIN)
        user = await self._store.user_for_login(domain.normalize_login(login))
        matches = await password_matches(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not matches:
            raise Unauthenticated(WRONG_LOGIN)
        user.ensure_can_log_in()
        refresh_secret, session = self._new_session(user, family_id=None)
        await self._store.insert_session(session)
        return self._tokens_for(user, session, refresh_secret)

    async def refresh(self, refresh_token: str) -> Tokens:
        session_id, secret = domain.split_refresh_token(refresh_token)
        current = await self._store.session(session_id)
        if current is None:
            raise Unauthenticated("the refresh token is not valid")
        current.check_refresh(secret, self._now())
        if current.reused:
            await self._store.revoke_family(current.company_id, current.family_id)
            raise Unauthenticated("this refresh token was already used; the session is ended")
        user = await self._store.user(current.company_id, current.user_id)
        if user is None:
            raise Unauthenticated("the session has ended; log in again")
        user.ensure_can_log_in()
        refresh_secret, rotated = self._new_session(user, family_id=current.family_id)

        async def write(tx: AsyncClientSession) -> bool:
            if not await self._store.rotate_session(current.id, tx):
                return False
            await self._store.insert_session(rotated, tx)
            return True

        if not await self._tx.run(write):
            # Another request rotated this token first: it was used twice.
            await self._store.revoke_family(current.company_id, current.family_id)
            raise Unauthenticated("this refresh token was already used; the session is ended")
        return self._tokens_for(user, rotated, refresh_secret)

    async def logout(self, caller: Caller, refresh_token: str) -> None:
        session_id, secret = domain.split_refresh_token(refresh_token)
        current = await self._store.session(session_id)
        if (
            current is None
            or current.company_id != caller.company_id
            or current.user_id != caller.user_id
        ):
            raise Unauthenticated("the refresh token is not valid")
        if not current.revoked:
            current.check_refresh(secret, self._now())
        await self._store.revoke_family(current.company_id, current.family_id)

    def _new_session(self, user: User, family_id: str | None) -> tuple[str, Session]:
        now = self._now()
        session_id = new_id("ses")
        secret = secrets.token_urlsafe(domain.REFRESH_SECRET_BYTES)
        return secret, Session(
            id=session_id,
            family_id=family_id or session_id,
            company_id=user.company_id,
            user_id=user.id,
            secret_digest=domain.refresh_digest(secret),
            created_at=now,
            expires_at=now + self._refresh_ttl,
        )

    def _tokens_for(self, user: User, session: Session, refresh_secret: str) -> Tokens:
        access = self._tokens.issue(
            user_id=user.id, company_id=user.company_id, session_id=session.id, now=self._now()
        )
        return Tokens(access, f"{session.id}.{refresh_secret}", self._tokens.ttl_seconds)

    # ---------------------------------------------------------------- who am I

    async def me(self, caller: Caller) -> Me:
        company_id, user_id = caller.company_id or "", caller.user_id or ""
        user, company = await asyncio.gather(
            self._store.user(company_id, user_id), self._store.company(company_id)
        )
        if user is None or company is None:
            raise Unauthenticated("the user no longer exists")
        user.ensure_can_log_in()
        scopes = domain.effective_scopes(list(user.assignments), domain.PRESET_ROLES)
        return Me(user=user, company=company, scopes=scopes)

    def signing_keys(self) -> dict[str, str]:
        return self._tokens.public_keys()
