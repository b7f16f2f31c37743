"""What every identity use case needs, made once in main.py and shared."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from google.protobuf.message import Message

from services.identity.store import Stores
from services.identity.tokens import TokenIssuer
from services.kit.delivery import MailSender, SmsCentre
from services.kit.events import Event, new_event
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox

SOURCE = "/services/identity"

# OWASP's minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
PASSWORDS = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the login is unknown, so both answers take the same time.
DUMMY_HASH = PASSWORDS.hash(secrets.token_urlsafe(16))


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    stores: Stores
    transactions: Transactions
    outbox: Outbox
    tokens: TokenIssuer
    sms: SmsCentre
    mail: MailSender
    refresh_ttl: timedelta
    clock: Callable[[], datetime] = utc_now


def identity_event(event_type: str, payload: Message, *, company_id: str, subject: str) -> Event:
    return new_event(event_type, payload, source=SOURCE, company_id=company_id, subject=subject)


async def hash_password(password: str) -> str:
    # argon2id takes tens of milliseconds of CPU: keep it off the event loop.
    return await asyncio.to_thread(PASSWORDS.hash, password)


async def password_matches(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return PASSWORDS.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)
