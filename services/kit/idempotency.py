"""Idempotency of requests that move money or start an operation (DESIGN.md).

A request carries a key; the service stores the key with the request's digest and its
result. The same key with the same request answers the first result; with another request
it is refused (409 `idempotency_key_reused`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from services.kit.errors import IdempotencyKeyReused, InvalidArgument

KEY_MAX = 200


def checked_idempotency_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise InvalidArgument(
            "the Idempotency-Key is missing or not valid",
            {"idempotency_key": f"1 to {KEY_MAX} printable characters, new for each request"},
        )
    return key


def request_digest(request: Mapping[str, Any]) -> str:
    """The request's fingerprint: the same body gives the same digest, whatever the order
    of its fields."""
    text = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_replay(stored_digest: str, digest: str) -> None:
    if stored_digest != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with another request; use a new key"
        )
