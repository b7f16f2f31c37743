"""The operation-results journal («Результаты операций»): every operation of every service,
as its owner last told it in `vm.<service>.operation.updated.v1`.

Updates may arrive twice and out of order; the journal keeps the newest state by one rule:
an operation only moves forward — pending, then running, then finished — and within a
stage its `done` count only grows. An update that is not newer than what the journal holds
changes nothing (its target results still count: each is decided once by its owner).

Who sees an operation: the one who started it, and the holders of its permission (the
update names it) for the whole company; anyone else finds nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from services.kit.errors import InvalidArgument
from services.kit.operation_status import FINISHED, RUNNING, status_filter_errors

TYPE_MAX = 64

# The service whose operations the journal holds from the moment they are created (its
# own): no other service is asked about them.
OWN_SERVICE = "documents"


def stage(status: str) -> int:
    """How far an operation has come: 0 pending, 1 running, 2 finished."""
    if status in FINISHED:
        return 2
    return 1 if status == RUNNING else 0


@dataclass(frozen=True)
class Progress:
    """What orders two states of one operation."""

    status: str
    done: int

    @property
    def key(self) -> tuple[int, int]:
        return stage(self.status), self.done


def is_newer(incoming: Progress, held: Progress | None) -> bool:
    """True when the journal should take `incoming` over what it holds (an equal state is
    taken too: it is the same news again)."""
    return held is None or incoming.key >= held.key


def visible(
    created_by: str, permission: str, caller_id: str, company_wide: Collection[str]
) -> bool:
    mine = bool(caller_id) and created_by == caller_id
    return mine or (bool(permission) and permission in company_wide)


def check_filter(operation_type: str, status: str) -> None:
    errors: dict[str, str] = {}
    if len(operation_type) > TYPE_MAX:
        errors["type"] = f"at most {TYPE_MAX} characters"
    errors.update(status_filter_errors(status))
    if errors:
        raise InvalidArgument("the filter is not valid", errors)


def percent(total: int, done: int) -> int:
    if total <= 0:
        return 100 if done else 0
    return min(100, done * 100 // total)
