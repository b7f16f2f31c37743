"""API keys for a company's own integrations: a bearer credential with one role assignment.

A key reads `vmk_<key id>_<secret>`, the secret 256 random bits. Identity keeps only the
SHA-256 digest of the secret (a random secret of that length cannot be guessed from a
list, so it needs no slow password hash) and the key's first characters, to recognise it
by; the key itself is shown once, when it is made. A revoked key is refused at once and
is no longer listed (it stays stored, for the record of who made it and when it was used).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from services.identity.domain.access import Assignment
from services.kit.auth import API_KEY_PREFIX
from services.kit.authz import Access, NodePath
from services.kit.errors import (
    InvalidArgument,
    NotAllowed,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)

API_KEY_NAME_MAX = 100
API_KEY_SECRET_BYTES = 32
# Characters of the key shown in lists: "vmk_apk_" and the start of the key's id.
API_KEY_VISIBLE_CHARS = 16
# A company's active keys are listed without paging: this keeps the list short.
MAX_ACTIVE_API_KEYS = 100
# Lifetime of the access token an exchange gives. Short: services that only verify the
# signature (no call to identity) accept a revoked key's token at most this long.
API_KEY_TOKEN_TTL_SECONDS = 300

_KEY_ID_HEX = 24
_KEY = re.compile(rf"^{API_KEY_PREFIX}(apk_[0-9a-f]{{{_KEY_ID_HEX}}})_([A-Za-z0-9_-]{{43}})$")
NOT_VALID = "the API key is not valid"


def api_key_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_api_key(key: str) -> tuple[str, str]:
    """The key's id and its secret; UNAUTHENTICATED when it is not shaped like a key."""
    match = _KEY.match(key.strip())
    if match is None:
        raise Unauthenticated(NOT_VALID)
    return match.group(1), match.group(2)


def checked_api_key_name(name: str) -> str:
    name = " ".join(name.split())
    if not 1 <= len(name) <= API_KEY_NAME_MAX:
        raise InvalidArgument(
            "the key's name is not valid", {"name": f"use 1 to {API_KEY_NAME_MAX} characters"}
        )
    return name


def key_assignment_error(error: InvalidArgument | NotFound) -> InvalidArgument | NotFound:
    """The assignment checks name fields `assignments.0.*`; a key has exactly one
    assignment, so its fields are plain `role_id` and `node_id` (an unknown one stays 404)."""
    fields = {name.removeprefix("assignments.0."): text for name, text in error.fields.items()}
    if isinstance(error, NotFound):
        return NotFound("no such role or hierarchy node", fields)
    return InvalidArgument("the key's role or scope is not valid", fields)


@dataclass(frozen=True)
class ApiKey:
    id: str
    company_id: str
    name: str
    assignment: Assignment
    prefix: str
    secret_digest: str
    created_by: str  # a user's id, or the id of the API key that made it
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def ensure_active(self) -> None:
        if self.revoked:
            raise Unauthenticated("the API key was revoked")

    def check_secret(self, secret: str) -> None:
        """The presented secret is this key's and the key still works."""
        if not hmac.compare_digest(api_key_digest(secret), self.secret_digest):
            raise Unauthenticated(NOT_VALID)
        self.ensure_active()


def new_api_key(
    *,
    company_id: str,
    name: str,
    assignment: Assignment,
    created_by: str,
    now: datetime,
) -> tuple[ApiKey, str]:
    """A new key and the key itself (`vmk_...`), to be shown once and never stored."""
    key_id = f"apk_{secrets.token_hex(_KEY_ID_HEX // 2)}"
    secret = secrets.token_urlsafe(API_KEY_SECRET_BYTES)
    key = f"{API_KEY_PREFIX}{key_id}_{secret}"
    api_key = ApiKey(
        id=key_id,
        company_id=company_id,
        name=checked_api_key_name(name),
        assignment=assignment,
        prefix=key[:API_KEY_VISIBLE_CHARS],
        secret_digest=api_key_digest(secret),
        created_by=created_by,
        created_at=now,
    )
    return api_key, key


def ensure_may_add_api_key(active_keys: int) -> None:
    if active_keys >= MAX_ACTIVE_API_KEYS:
        raise NotAllowed(
            f"the company already has {MAX_ACTIVE_API_KEYS} active API keys; revoke one first",
            reason="TOO_MANY_API_KEYS",
        )


def ensure_may_revoke_api_key(manager: Access, key_access: Access, node_path: NodePath) -> None:
    """As with users: a delegate must not cut off a key that holds more than they do
    (an administrator's integration)."""
    if not manager.covers(key_access, node_path):
        raise PermissionDenied("this API key holds permissions you do not; ask an administrator")


def revoked_api_key(key: ApiKey, now: datetime) -> ApiKey:
    """The key, revoked now. A revoked key no longer exists for its company."""
    if key.revoked:
        raise NotFound("no such API key")
    return replace(key, revoked_at=now)
