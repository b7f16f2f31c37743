"""Sessions: one refresh token's life, its rotation and reuse detection."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from services.kit.errors import Unauthenticated

REFRESH_SECRET_BYTES = 32


def refresh_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_refresh_token(token: str) -> tuple[str, str]:
    session_id, _, secret = token.strip().partition(".")
    if not session_id or not secret or len(token) > 200:
        raise Unauthenticated("the refresh token is not valid")
    return session_id, secret


@dataclass(frozen=True)
class Session:
    """One refresh token's life. Rotation makes a new session in the same family; a reused
    (already rotated) token means it was stolen, so the whole family is revoked."""

    id: str
    family_id: str
    company_id: str
    user_id: str
    secret_digest: str
    created_at: datetime
    expires_at: datetime
    rotated: bool = False
    revoked: bool = False

    def check_refresh(self, secret: str, now: datetime) -> None:
        if not hmac.compare_digest(refresh_digest(secret), self.secret_digest):
            raise Unauthenticated("the refresh token is not valid")
        if self.revoked or now >= self.expires_at:
            raise Unauthenticated("the session has ended; log in again")

    @property
    def reused(self) -> bool:
        return self.rotated
