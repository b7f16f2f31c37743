"""Request fields whose OpenAPI says exactly what the service behind them accepts.

A request that the schema allows is never refused as invalid (422) by a service: each
pattern here accepts only inputs the service's own check accepts (it may be stricter — then
the gateway refuses with 422 itself, as the schema says). The REST contract fuzzer
(tests/fuzz) holds the gateway to it. What JSON Schema cannot say (an ICCID's Luhn check
digit, a TOTP code, two fields that must differ) stays the service's, and is described.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    StrictInt,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from services.identity.domain.access import ALL_PERMISSIONS
from services.identity.domain.users import PASSWORD_MAX, PASSWORD_MIN

# Separators that numbers may carry anywhere (services/kit/phone.py also takes other white
# space; the schema keeps to the usual ones).
_SEP = r"[ ().\-]*"


def _digits(count: str) -> str:
    return rf"(?:{_SEP}[0-9]){{{count}}}"


# A Russian mobile number in any usual form (normalize_msisdn): 79161234567,
# +7 (916) 123-45-67, 8 916 123 45 67, 9161234567.
# At most two separators in a row: the pattern alone then bounds the length (38), so a
# generator of the pattern never makes a string the length limit throws away.
_MSEP = r"[ ().\-]{0,2}"
MSISDN_PATTERN = rf"^{_MSEP}(?:\+{_MSEP}7{_MSEP}|[78]{_MSEP})?9(?:{_MSEP}[0-9]){{9}}{_MSEP}$"
MSISDN_MAX = 38
MSISDN_DESCRIPTION = "a mobile number: 79161234567, +7 (916) 123-45-67 or 8 916 123-45-67"
Msisdn = Annotated[
    str,
    Field(
        min_length=10,
        max_length=MSISDN_MAX,
        pattern=MSISDN_PATTERN,
        description=MSISDN_DESCRIPTION,
        examples=["79161234567"],
    ),
]
# A user's own mobile number (identity's User.phone): one as above, or "" for none (a
# PATCH with "" clears it).
OPTIONAL_MSISDN_PATTERN = rf"^(?:{MSISDN_PATTERN[1:-1]})?$"
OptionalMsisdn = Annotated[
    str,
    Field(
        max_length=MSISDN_MAX,
        pattern=OPTIONAL_MSISDN_PATTERN,
        description=f"{MSISDN_DESCRIPTION}; empty: none",
        examples=["+7 916 123-45-67"],
    ),
]
MsisdnPath = Annotated[
    str,
    Path(
        min_length=10,
        max_length=MSISDN_MAX,
        pattern=MSISDN_PATTERN,
        description=MSISDN_DESCRIPTION,
        examples=["79161234567"],
    ),
]
MsisdnQuery = Annotated[
    str | None, Query(max_length=MSISDN_MAX, pattern=MSISDN_PATTERN, description=MSISDN_DESCRIPTION)
]

# Any phone number (catalog's normalized_phone): +<country code and number>, or a Russian
# one of ten digits, with 7 or 8 before it or not.
PHONE_PATTERN = (
    rf"^{_SEP}(?:\+{_SEP}(?:7{_digits('10')}|[1-689]{_digits('7,14')})"
    rf"|(?:[78]{_SEP})?[1-9]{_digits('9')}){_SEP}$"
)

# The SIM card number: 19 or 20 digits starting with 89 (spaces or dashes may separate
# them); its last digit is a Luhn check digit, which catalog checks (422 when wrong).
ICCID_PATTERN = r"^[ \-]*8[ \-]*9(?:[ \-]*[0-9]){17,18}[ \-]*$"

# White space by every engine's count, spelled out: `\s` alone differs between them (Python's
# takes \x1c-\x1f and \x85, ECMAScript's takes \ufeff), and a schema must not let through
# what a service's str.split() or `\s` treats as white space.
_WS = r"\s\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"

# A text that must say something: at least one character that is not white space.
NOT_BLANK = rf"[^{_WS}]"

# An e-mail address as identity and billing check it: name@domain.tld, no spaces, a
# top-level domain of two characters or more (identity's rule).
EMAIL_PATTERN = rf"^[^@{_WS}]{{1,64}}@[^@{_WS}]+\.[^@{_WS}]{{2,}}$"
Email = Annotated[
    str, Field(max_length=254, pattern=EMAIL_PATTERN, examples=["buh@romashka.example"])
]


def _password_length(value: str) -> str:
    # Identity's own words for its rule (check_password_policy), not pydantic's.
    if not PASSWORD_MIN <= len(value) <= PASSWORD_MAX:
        raise PydanticCustomError(
            "password_length", f"use {PASSWORD_MIN} to {PASSWORD_MAX} characters"
        )
    return value


# Text of one line: no control characters.
ONE_LINE = r"^[^\x00-\x1f]*$"

# A user's login (identity's USER_LOGIN, which lower-cases it first).
LOGIN_PATTERN = r"^[A-Za-z][A-Za-z0-9._\-]{2,63}$"

# A new password (identity's check_password_policy): 8 to 128 characters.
NewPassword = Annotated[
    str,
    AfterValidator(_password_length),
    WithJsonSchema({"type": "string", "minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX}),
]

# Money: billing's amounts are positive kopecks, at most 10 000 000 000 in one movement
# (services/billing/domain/ledger.py), in roubles.
MAX_AMOUNT = 10_000_000_000


def _integral(value: object) -> object:
    """JSON Schema's integer is any number without a fraction (`150000.0` too)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def whole_number(ge: int, le: int) -> object:
    """A whole number from `ge` to `le` as JSON Schema says it: 5 or 5.0, never "5", true
    or 5.5 (the bounds inside the validator, so that the schema shows them)."""
    return Annotated[StrictInt, Field(ge=ge, le=le), BeforeValidator(_integral)]


class MoneyIn(BaseModel):
    """An amount asked for: a positive whole number of kopecks, in roubles."""

    amount: Annotated[whole_number(1, MAX_AMOUNT), Field(examples=[150000])] = Field(  # type: ignore[valid-type]
        description="kopecks (a positive whole number)"
    )
    currency: Literal["RUB"] = "RUB"


# A permission of identity's catalogue.
if TYPE_CHECKING:  # a closed list known at run time; to the type checker, a string
    Permission = str
else:
    Permission = Literal[tuple(ALL_PERMISSIONS)]

# Kinds that the services know (each a closed list there).
BlockType = Literal["voluntary", "lost_stolen", "financial", "limit", "administrative"]
LimitKind = Literal["total", "data", "roaming", "calls", "sms"]
LimitAction = Literal["notify", "block"]
ForwardingCondition = Literal["unconditional", "busy", "no_reply", "unreachable"]
NodeKind = Literal["region", "city", "branch", "department", "group"]
DeliveryMethod = Literal["email", "post"]


# Bill delivery (billing's checked_bill_delivery): by e-mail to an address, or by post to
# a postal address of at most 300 characters.
ADDRESS_MAX = 300
# An account's name (billing's NAME_MAX, after its white space is tidied).
ACCOUNT_NAME_MAX = 100


class EmailDeliveryIn(BaseModel):
    method: Literal["email"]
    address: Annotated[str, Field(max_length=ADDRESS_MAX, pattern=EMAIL_PATTERN)] = Field(
        examples=["buh@romashka.example"]
    )


class PostDeliveryIn(BaseModel):
    method: Literal["post"]
    address: str = Field(
        max_length=ADDRESS_MAX, pattern=NOT_BLANK, examples=["Москва, ул. Тверская, 1"]
    )


BillDeliveryIn = Annotated[EmailDeliveryIn | PostDeliveryIn, Field(discriminator="method")]


def _iso_text(value: object) -> object:
    """A moment is given as text in ISO form; pydantic alone would also take a number of
    seconds (`1700000000`), which the schema's `date-time`/`date` do not allow."""
    if not isinstance(value, str) or not _ISO_START.match(value):
        raise ValueError("RFC 3339 (2025-01-31T00:00:00Z) or YYYY-MM-DD")
    return value


_ISO_START = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")

# A moment of a period: RFC 3339, or a date (its midnight, UTC).
Moment = Annotated[datetime | date, BeforeValidator(_iso_text)]
# A moment with its offset: RFC 3339 only.
Rfc3339 = Annotated[AwareDatetime, BeforeValidator(_iso_text)]


def moment_text(value: Moment | None) -> str:
    """RFC 3339 in UTC (a date stays a date); "" for none."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()
