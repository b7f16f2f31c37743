"""Spending limits of a number per month: in total or per kind of spending.

When this month's spending of a kind reaches its limit, the company is told (notify) or
the number gets the `limit` block (block). Spending starts again from zero each month,
and a limit block ends with the month it was set in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.billing.domain.ledger import checked_amount
from services.kit.errors import InvalidArgument

TOTAL = "total"
USAGE_KINDS: dict[str, str] = {
    "data": "мобильный интернет",
    "roaming": "роуминг",
    "calls": "звонки",
    "sms": "SMS",
}
KINDS: dict[str, str] = {TOTAL: "всего", **USAGE_KINDS}
NOTIFY = "notify"
BLOCK = "block"
ACTIONS: dict[str, str] = {NOTIFY: "уведомить", BLOCK: "заблокировать"}


@dataclass(frozen=True)
class SpendingLimit:
    company_id: str
    msisdn: str
    kind: str
    amount: int
    action: str


def period_of(moment: datetime) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def checked_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidArgument("unknown kind of limit", {"kind": f"one of: {', '.join(KINDS)}"})
    return kind


def checked_limit(
    company_id: str, msisdn: str, kind: str, amount: int, currency: str, action: str
) -> SpendingLimit:
    errors: dict[str, str] = {}
    try:
        checked_kind(kind)
    except InvalidArgument as error:
        errors.update(error.fields)
    try:
        checked_amount(amount, currency)
    except InvalidArgument as error:
        errors.update(error.fields)
    if action not in ACTIONS:
        errors["action"] = f"one of: {', '.join(ACTIONS)}"
    if errors:
        raise InvalidArgument("the limit is not valid", errors)
    return SpendingLimit(company_id, msisdn, kind, amount, action)


def spent_on(kind: str, by_kind: dict[str, int]) -> int:
    return sum(by_kind.values()) if kind == TOTAL else by_kind.get(kind, 0)


def reached(limits: list[SpendingLimit], before: dict[str, int], after: dict[str, int]):
    """The limits this spending reached just now (below before, at or above after)."""
    return [
        limit
        for limit in limits
        if spent_on(limit.kind, before) < limit.amount <= spent_on(limit.kind, after)
    ]


def blocks_still_due(limits: list[SpendingLimit], by_kind: dict[str, int]) -> bool:
    """Whether a block-action limit is still reached this month (after a limit changed)."""
    return any(
        limit.action == BLOCK and spent_on(limit.kind, by_kind) >= limit.amount for limit in limits
    )
