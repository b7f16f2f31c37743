"""Request fields whose OpenAPI says exactly what the service behind them accepts.

A request that the schema allows is never refused as invalid (422) by a service: each
pattern here accepts only inputs the service's own check accepts (it may be stricter — then
the gateway refuses with 422 itself, as the schema says). The REST contract fuzzer
(tests/fuzz) holds the gateway to it. What JSON Schema cannot say (an ICCID's Luhn check
digit, a TOTP code, two fields that must differ) stays the service's, and is described.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

from fastapi import Path, Query
from pydantic import BaseModel, Field, StrictInt

from services.identity.domain.access import ALL_PERMISSIONS

# Separators that numbers may carry anywhere (services/kit/phone.py also takes other white
# space; the schema keeps to the usual ones).
_SEP = r"[ ().\-]*"


def _digits(count: str) -> str:
    return rf"(?:{_SEP}[0-9]){{{count}}}"


# A Russian mobile number in any usual form (normalize_msisdn): 79161234567,
# +7 (916) 123-45-67, 8 916 123 45 67, 9161234567.
MSISDN_PATTERN = rf"^{_SEP}(?:\+{_SEP}7{_SEP}|[78]{_SEP})?9{_digits('9')}{_SEP}$"
MSISDN_DESCRIPTION = "a mobile number: 79161234567, +7 (916) 123-45-67 or 8 916 123-45-67"
Msisdn = Annotated[
    str,
    Field(
        min_length=10,
        max_length=32,
        pattern=MSISDN_PATTERN,
        description=MSISDN_DESCRIPTION,
        examples=["79161234567"],
    ),
]
MsisdnPath = Annotated[
    str,
    Path(
        min_length=10,
        max_length=32,
        pattern=MSISDN_PATTERN,
        description=MSISDN_DESCRIPTION,
        examples=["79161234567"],
    ),
]
MsisdnQuery = Annotated[
    str | None, Query(max_length=32, pattern=MSISDN_PATTERN, description=MSISDN_DESCRIPTION)
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

# A text that must say something: at least one character that is not white space.
NOT_BLANK = r"[^\s\x1c-\x1f]"

# An e-mail address as identity and billing check it: name@domain.tld, no spaces.
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
Email = Annotated[
    str, Field(max_length=254, pattern=EMAIL_PATTERN, examples=["buh@romashka.example"])
]

# A new password (identity's check_password_policy): 8 to 128 characters.
NewPassword = Annotated[str, Field(min_length=8, max_length=128)]

# Money: billing's amounts are positive kopecks, at most 10 000 000 000 in one movement
# (services/billing/domain/ledger.py), in roubles.
MAX_AMOUNT = 10_000_000_000


class MoneyIn(BaseModel):
    """An amount asked for: a positive whole number of kopecks, in roubles."""

    amount: Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT, examples=[150000])] = Field(
        description="kopecks (a positive whole number)"
    )
    currency: Literal["RUB"] = "RUB"


# A permission of identity's catalogue.
Permission = Literal[tuple(ALL_PERMISSIONS)]  # type: ignore[valid-type]

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


# A moment of a period: RFC 3339, or a date (its midnight, UTC).
Moment = datetime | date


def moment_text(value: Moment | None) -> str:
    """RFC 3339 in UTC (a date stays a date); "" for none."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat()
