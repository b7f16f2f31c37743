"""Uniform lists for routes whose backend answers the whole list at once (roles, API keys,
tariffs, services, forms, promised payments, limits): the gateway pages it itself, so that
every list of the API takes `page_size`/`page_token` and answers `next_page_token`, and a
generated client's one paginator (ask again while `next_page_token` is not empty) works
for every list. The token is opaque (the offset, encoded as the backends' keyset tokens
are) and a page size is honoured; these lists are short, so offsets are cheap and exact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, TypeVar

from fastapi import Query
from pydantic import BeforeValidator, Field

from gateway.problems import Problem
from services.kit.errors import InvalidArgument
from services.kit.paging import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    decode_page_token,
    encode_page_token,
)

T = TypeVar("T")


def _digits(value: object) -> object:
    """A query's integer is written in digits: pydantic alone would also read `+0.0`."""
    if isinstance(value, str) and not _INTEGER.match(value):
        raise ValueError("a whole number in digits")
    return value


_INTEGER = re.compile(r"^-?[0-9]+$")
PageSize = Annotated[
    Annotated[int, Field(ge=0, le=MAX_PAGE_SIZE), BeforeValidator(_digits)],
    Query(description=f"at most this many items; 0: {DEFAULT_PAGE_SIZE}"),
]
# Opaque: only the `next_page_token` of the previous page is valid (base64url, as
# services/kit/paging.py makes them); anything else is 422.
PAGE_TOKEN_PATTERN = r"^[A-Za-z0-9_\-]*$"
PageToken = Annotated[
    str,
    Query(
        max_length=500,
        pattern=PAGE_TOKEN_PATTERN,
        description="`next_page_token` of the previous page (opaque)",
    ),
]


def page_of(items: Sequence[T], page_size: int, page_token: str) -> tuple[list[T], str]:
    """One page of a complete list, and the token of the next one ("" after the last)."""
    try:
        key = decode_page_token(page_token)
    except InvalidArgument as error:
        raise Problem(
            "validation_failed",
            error.message,
            errors=[{"field": name, "message": text} for name, text in error.fields.items()],
        ) from error
    offset = key.get("o") if isinstance(key, dict) else 0 if key is None else None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise Problem(
            "validation_failed",
            "the page token is not valid",
            errors=[{"field": "page_token", "message": "use the token from the previous page"}],
        )
    size = page_size or DEFAULT_PAGE_SIZE
    page = list(items[offset : offset + size])
    more = offset + size < len(items)
    return page, encode_page_token({"o": offset + size}) if more else ""
