"""The low-balance warning: the company is told when its account's balance falls below the
threshold it chose (kopecks; 0: never told).

A warning is a crossing, not a state: a change that takes the balance from at or above the
threshold to below it is told once; further changes below it are not (the company knows);
after the balance rose back to the threshold or above, the next fall is told again. Each
balance change is written in a transaction of its own account's document, so the balance
before a change and after it are exact, and the crossing needs no flag of its own.

A threshold set (or raised) above a balance already below it tells nothing: nothing crossed.
"""

from __future__ import annotations

from services.billing.domain.ledger import CURRENCY, MAX_AMOUNT
from services.kit.errors import InvalidArgument

OFF = 0


def checked_threshold(amount: int, currency: str = CURRENCY) -> int:
    """0 (off) or a positive number of kopecks, within reason."""
    errors: dict[str, str] = {}
    if currency not in ("", CURRENCY):
        errors["threshold.currency"] = f"amounts are in {CURRENCY}"
    if amount < 0:
        errors["threshold.amount"] = "0 (off) or a positive number of kopecks"
    elif amount > MAX_AMOUNT:
        errors["threshold.amount"] = f"at most {MAX_AMOUNT} kopecks"
    if errors:
        raise InvalidArgument("the low-balance threshold is not valid", errors)
    return amount


def fell_below(threshold: int, before: int, after: int) -> bool:
    """Whether a change of the balance from `before` to `after` crosses the threshold
    downwards: at or above it before, below it after."""
    if threshold <= OFF:
        return False
    return before >= threshold > after
