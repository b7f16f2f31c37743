"""Opening sessions: a refresh token (stored as a digest) and an access token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from services.identity import domain
from services.identity.domain import Session, User
from services.identity.service.base import Deps


@dataclass(frozen=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int


class SessionIssuer:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    def new_session(self, user: User, family_id: str | None = None) -> tuple[str, Session]:
        """A session (new family unless `family_id`) and its refresh secret, not yet saved."""
        now = self._deps.clock()
        session_id = f"ses_{secrets.token_urlsafe(12)}"
        secret = secrets.token_urlsafe(domain.REFRESH_SECRET_BYTES)
        return secret, Session(
            id=session_id,
            family_id=family_id or session_id,
            company_id=user.company_id,
            user_id=user.id,
            secret_digest=domain.refresh_digest(secret),
            created_at=now,
            expires_at=now + self._deps.refresh_ttl,
        )

    def tokens_for(self, user: User, session: Session, refresh_secret: str) -> Tokens:
        access = self._deps.tokens.issue(
            user_id=user.id,
            company_id=user.company_id,
            session_id=session.id,
            now=self._deps.clock(),
        )
        return Tokens(access, f"{session.id}.{refresh_secret}", self._deps.tokens.ttl_seconds)

    async def open(self, user: User) -> Tokens:
        """A new session for a user who has just proved who they are."""
        secret, session = self.new_session(user)
        await self._deps.stores.sessions.insert(session)
        return self.tokens_for(user, session, secret)
