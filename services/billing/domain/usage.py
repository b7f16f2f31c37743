"""Rated usage records from the operator's usage feed, and a number's usage for a period.

A record is charged once (by its id) to the account its number is billed to when it
arrives. Periods are half-open windows [from, to) in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from services.billing.domain.ledger import CURRENCY, MAX_AMOUNT
from services.billing.domain.limits import USAGE_KINDS
from services.kit.errors import InvalidArgument
from services.kit.phone import normalize_msisdn

UNITS: dict[str, str] = {"data": "MB", "roaming": "MB", "calls": "min", "sms": "sms"}
RECORD_ID_MAX = 100


@dataclass(frozen=True)
class UsageRecord:
    record_id: str
    msisdn: str
    kind: str
    charge: int
    quantity: int
    at: datetime


def record_problem(
    record_id: str, msisdn: str, kind: str, charge: int, currency: str, quantity: int
) -> str | None:
    """Why a record cannot be charged, or None."""
    if not record_id or len(record_id) > RECORD_ID_MAX:
        return f"the record id must have 1 to {RECORD_ID_MAX} characters"
    if normalize_msisdn(msisdn) is None:
        return "the number is not a mobile number"
    if kind not in USAGE_KINDS:
        return f"unknown kind; one of: {', '.join(USAGE_KINDS)}"
    if currency not in ("", CURRENCY):
        return f"charges are in {CURRENCY}"
    if charge < 0 or charge > MAX_AMOUNT:
        return "the charge must be 0 or more kopecks, within reason"
    if quantity < 0:
        return "the quantity must not be negative"
    return None


def parse_moment(text: str, field: str) -> datetime | None:
    """RFC 3339 or a date (its midnight, UTC); empty: None."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidArgument(
            "the time is not valid", {field: "RFC 3339 (2025-01-31T00:00:00Z) or YYYY-MM-DD"}
        ) from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def checked_window(
    start: datetime | None, end: datetime | None, now: datetime, default_start: datetime
) -> tuple[datetime, datetime]:
    """The window `start <= at < end`; `end` not after `start` is an empty window (nothing
    in it), not a malformed one."""
    start = start or default_start
    end = end or now
    return start, end
