"""Access tokens: short-lived JWTs signed with Ed25519 (EdDSA), each naming its key (`kid`).

The active private key lives in identity's database (one per deployment, created by the
first replica that starts; the unique `slot` index stops two replicas making two) or, in
production, in a file mounted from a secret (`VM_IDENTITY_SIGNING_KEY_FILE`). Every key
that may still have signed a live token is published through `GetSigningKeys`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.identity.store.sessions import SigningKeyStore
from services.kit.auth import ACTOR_CLAIM, ALGORITHM, RULE_ACTOR, SubjectKind
from services.kit.errors import Unavailable


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: Ed25519PrivateKey
    public_pem: str


def _public_pem(private_key: Ed25519PrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _kid(public_pem: str) -> str:
    digest = hashlib.sha256(public_pem.encode()).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _load_private(pem: str) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the signing key must be an Ed25519 private key")
    return key


class TokenIssuer:
    def __init__(
        self,
        store: SigningKeyStore,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        key_file: str = "",
    ) -> None:
        self._store = store
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds
        self._key_file = key_file
        self._active: SigningKey | None = None
        self._published: dict[str, str] = {}

    async def load_keys(self, now: datetime) -> None:
        """Load (or create, once per deployment) the active key; call before serving."""
        if self._key_file:
            private_key = _load_private(await asyncio.to_thread(Path(self._key_file).read_text))
            pem = _public_pem(private_key)
            self._active = SigningKey(_kid(pem), private_key, pem)
            self._published = {self._active.kid: pem}
            return
        if not await self._active_from_store():
            private_key = Ed25519PrivateKey.generate()
            private_pem = private_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()
            pem = _public_pem(private_key)
            await self._store.insert_active(_kid(pem), private_pem, pem, now)
            await self._active_from_store()

    async def _active_from_store(self) -> bool:
        keys = await self._store.all()
        self._published = {doc["_id"]: doc["public_pem"] for doc in keys}
        for doc in keys:
            if doc.get("slot") == "active":
                self._active = SigningKey(
                    doc["_id"], _load_private(doc["private_pem"]), doc["public_pem"]
                )
                return True
        return False

    def public_keys(self) -> dict[str, str]:
        return dict(self._published)

    def issue(
        self,
        *,
        user_id: str,
        company_id: str,
        session_id: str,
        now: datetime,
        kind: SubjectKind = "user",
        ttl_seconds: int | None = None,
        rule_id: str | None = None,
    ) -> str:
        """A user's token, or (`kind="api_key"`) an API key's: then the key's id is both the
        subject and the session, so that every service verifies it like a user's. With
        `rule_id`, a user's token acting for that automation rule (the `act` claim)."""
        if self._active is None:
            raise Unavailable("identity is starting; try again in a moment")
        claims: dict[str, object] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": user_id,
            "cid": company_id,
            "sid": session_id,
            "knd": kind,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ttl_seconds or self.ttl_seconds)).timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        if rule_id:
            claims[ACTOR_CLAIM] = {"sub": rule_id, "knd": RULE_ACTOR}
        return jwt.encode(
            claims, self._active.private_key, algorithm=ALGORITHM, headers={"kid": self._active.kid}
        )
