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

from services.kit.errors import InvalidArgument, NotAllowed

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
PARTIALLY_FAILED = "partially_failed"
CANCELLED = "cancelled"
STATUSES = (PENDING, RUNNING, SUCCEEDED, FAILED, PARTIALLY_FAILED, CANCELLED)
FINISHED = frozenset({SUCCEEDED, FAILED, PARTIALLY_FAILED, CANCELLED})
RESULT_STATUSES = (PENDING, SUCCEEDED, FAILED, CANCELLED)
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
    if status and status not in STATUSES:
        errors["status"] = f"one of: {', '.join(STATUSES)}"
    if errors:
        raise InvalidArgument("the filter is not valid", errors)


def check_result_filter(status: str) -> None:
    if status and status not in RESULT_STATUSES:
        raise InvalidArgument(
            "the filter is not valid", {"status": f"one of: {', '.join(RESULT_STATUSES)}"}
        )


def check_cancellable(status: str) -> None:
    if status in FINISHED:
        raise NotAllowed(f"the operation has already ended ({status})", reason="OPERATION_FINISHED")


def final_status(total: int, failed: int, *, cancelled: bool) -> str:
    """How one of documents' own operations ended: cancelled wins; no failure is success;
    every target failed is failure; otherwise partial."""
    if cancelled:
        return CANCELLED
    if failed == 0:
        return SUCCEEDED
    return FAILED if failed >= total else PARTIALLY_FAILED


def percent(total: int, done: int) -> int:
    if total <= 0:
        return 100 if done else 0
    return min(100, done * 100 // total)
