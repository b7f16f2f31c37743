"""Keyset pagination (AIP-158): `page_size` 0 means the default, a negative or oversized
size is refused; `page_token` is opaque to clients and carries the last key seen, so a
page stays correct while items are added or removed."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from services.kit.errors import InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def page_size(requested: int) -> int:
    if requested < 0 or requested > MAX_PAGE_SIZE:
        raise InvalidArgument(
            "the page size is out of range",
            {"page_size": f"use 1 to {MAX_PAGE_SIZE} (0 for {DEFAULT_PAGE_SIZE})"},
        )
    return requested or DEFAULT_PAGE_SIZE


def encode_page_token(last_key: Any) -> str:
    raw = json.dumps(last_key, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str) -> Any:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidArgument(
            "the page token is not valid", {"page_token": "use the token from the previous page"}
        ) from error
