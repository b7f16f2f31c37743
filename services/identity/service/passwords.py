"""Passwords: the forgotten-password reset (public) and changing one's own ("My settings").

A reset answers the same whatever the login: an unknown login gets a reset id too, and
the code goes out in the background, so neither the answer, its timing, nor an outage of
the SMS centre tells anyone whether the login exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity import domain
from services.identity.domain import PasswordReset, User
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps, hash_password, identity_event, password_matches
from services.kit.context import Caller
from services.kit.errors import Conflict, InvalidArgument, NotAllowed, NotFound, Unauthenticated
from services.kit.events import Event
from services.kit.ids import new_id
from vm.identity.events.v1 import events_pb2

log = logging.getLogger(__name__)

LOGIN_MAX = 128
BUSY = "another attempt with this code is under way; try again"


class PasswordCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._stores = deps.stores
        self._access = access
        # Deliveries under way: asyncio keeps only weak references to tasks.
        self._deliveries: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- forgotten password

    async def start_reset(self, login: str) -> PasswordReset:
        if not login.strip() or len(login) > LOGIN_MAX:
            raise InvalidArgument(
                "the login is not valid", {"login": "enter your login or the main number"}
            )
        now = self._deps.clock()
        user = await self._stores.users.by_login(domain.normalize_login(login))
        recent = await self._stores.password_resets.count_since(
            user.company_id if user else "", user.id if user else "", now - domain.RESET_WINDOW
        )
        owner = user if domain.may_send_reset_code(user, recent) else None
        reset_id, code = new_id("pwr"), domain.new_code()
        reset = PasswordReset(
            id=reset_id,
            company_id=owner.company_id if owner else None,
            user_id=owner.id if owner else None,
            channel=domain.reset_channel(owner) if owner else "",
            code_digest=domain.reset_code_digest(reset_id, code),
            created_at=now,
            expires_at=now + domain.RESET_CODE_TTL,
        )
        await self._stores.password_resets.insert(reset)
        if owner is not None:
            self._in_background(self._send_reset_code(owner, code))
        return reset

    async def confirm_reset(self, reset_id: str, code: str, new_password: str) -> None:
        domain.check_password_policy(new_password, "new_password")
        resets = self._stores.password_resets
        before = await resets.get(reset_id)
        if before is None:
            raise NotFound("no such password reset")
        before.ensure_open(self._deps.clock())
        after = before.try_code(code)
        if not after.completed:
            if not await resets.record_attempt(before, after):
                raise Conflict(BUSY)
            raise InvalidArgument(
                f"the code does not match; attempts left: {after.attempts_left}",
                domain.WRONG_RESET_CODE,
            )
        user = await self._stores.users.get(after.company_id or "", after.user_id or "")
        if user is None or user.status != domain.USER_ACTIVE:
            raise _reset_expired()
        password_hash = await hash_password(new_password)

        async def write(tx: AsyncClientSession) -> None:
            if not await resets.record_attempt(before, after, tx):
                raise Conflict(BUSY)
            if not await self._stores.users.set_password_hash(
                user.company_id, user.id, password_hash, tx
            ):
                raise _reset_expired()
            await resets.close_others(user.company_id, user.id, after.id, tx)
            # Whoever knew the old password is out: every session of the user ends.
            await self._stores.sessions.revoke_user_sessions(user.company_id, user.id, session=tx)
            await self._deps.outbox.add(tx, _password_changed(user, "reset"))

        await self._deps.transactions.run(write)

    # ---------------------------------------------------------------- own password

    async def change_password(
        self, caller: Caller, current_password: str, new_password: str
    ) -> None:
        domain.check_password_policy(new_password, "new_password")
        user, _ = await self._access.caller(caller)
        if not await password_matches(user.password_hash, current_password):
            raise InvalidArgument("the current password is wrong", domain.WRONG_CURRENT_PASSWORD)
        domain.ensure_password_differs(current_password, new_password)
        own = await self._stores.sessions.get(caller.session_id or "")
        if own is None or (own.company_id, own.user_id) != (user.company_id, user.id):
            raise Unauthenticated("the session has ended; log in again")
        password_hash = await hash_password(new_password)

        async def write(tx: AsyncClientSession) -> None:
            if not await self._stores.users.set_password_hash(
                user.company_id, user.id, password_hash, tx
            ):
                raise Unauthenticated("the session has ended; log in again")
            # The caller stays signed in here; everywhere else the user must log in again.
            await self._stores.sessions.revoke_user_sessions(
                user.company_id, user.id, except_family=own.family_id, session=tx
            )
            await self._deps.outbox.add(tx, _password_changed(user, "change"))

        await self._deps.transactions.run(write)

    # ---------------------------------------------------------------- delivery

    async def _send_reset_code(self, user: User, code: str) -> None:
        minutes = int(domain.RESET_CODE_TTL.total_seconds() // 60)
        if domain.reset_channel(user) == "sms":
            await self._deps.sms.send_sms(
                user.login,
                f"Код для восстановления пароля в Виртуальном менеджере: {code}. "
                f"Действует {minutes} минут. Никому его не сообщайте.",
            )
            return
        await self._deps.mail.send_mail(
            user.email,
            "Восстановление пароля в Виртуальном менеджере",
            "Здравствуйте!\n\n"
            f"Для входа в Виртуальный менеджер с логином {user.login} запрошено "
            "восстановление пароля.\n\n"
            f"Код для восстановления пароля в Виртуальном менеджере: {code}\n"
            f"Код действует {minutes} минут. Никому его не сообщайте.\n\n"
            "Если вы не запрашивали восстановление пароля, просто проигнорируйте это письмо: "
            "пароль останется прежним.",
        )

    def _in_background(self, delivery: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(delivery)
        self._deliveries.add(task)
        task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._deliveries.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        # The person asks for a new code; the text (with the code) is never logged.
        log.warning(
            "a password reset code was not delivered",
            extra={"error": type(task.exception()).__name__},
        )


def _reset_expired() -> NotAllowed:
    return NotAllowed(
        "this password reset can no longer be completed; start a new one", reason="RESET_EXPIRED"
    )


def _password_changed(user: User, how: str) -> Event:
    return identity_event(
        "vm.identity.password.changed.v1",
        events_pb2.PasswordChanged(company_id=user.company_id, user_id=user.id, how=how),
        company_id=user.company_id,
        subject=user.id,
    )
