"""The statuses every service's operations go through («Результаты операций»), and the
rules on them that do not depend on what the operation does.

An operation: `pending → running → succeeded | partially_failed | failed`, or
`cancelled` (before it started, or between batches). Each of its targets is `pending`
until it is decided once: `succeeded`, `unchanged` (it already was as asked: nothing to
do, and no failure), `failed` or `cancelled`.
"""

from __future__ import annotations

from services.kit.errors import InvalidArgument, NotAllowed
from vm.common.v1 import common_pb2

PENDING = "pending"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
PARTIALLY_FAILED = "partially_failed"
CANCELLED = "cancelled"
UNCHANGED = "unchanged"  # a target's result only: it already was as asked
STATUSES = (PENDING, RUNNING, SUCCEEDED, FAILED, PARTIALLY_FAILED, CANCELLED)
FINISHED = frozenset({SUCCEEDED, FAILED, PARTIALLY_FAILED, CANCELLED})
UNFINISHED = (PENDING, RUNNING)

# A target's result; `pending` until its owner has decided it.
RESULT_STATUSES = (PENDING, SUCCEEDED, UNCHANGED, FAILED, CANCELLED)

# vm.common.v1.OperationStatus: OPERATION_STATUS_<NAME> for each status.
STATUS_VALUES = {
    name: common_pb2.OperationStatus.Value(f"OPERATION_STATUS_{name.upper()}") for name in STATUSES
}
STATUS_NAMES = {value: name for name, value in STATUS_VALUES.items()}


def status_name(value: int) -> str:
    """The status an Operation message carries (unspecified: pending)."""
    return STATUS_NAMES.get(value, PENDING)


def status_filter_errors(status: str) -> dict[str, str]:
    """What is wrong with a list filter's `status` (nothing when it is empty)."""
    if status and status not in STATUSES:
        return {"status": f"one of: {', '.join(STATUSES)}"}
    return {}


def check_result_filter(status: str) -> None:
    if status and status not in RESULT_STATUSES:
        raise InvalidArgument(
            "the filter is not valid", {"status": f"one of: {', '.join(RESULT_STATUSES)}"}
        )


def check_cancellable(status: str) -> None:
    if status in FINISHED:
        raise NotAllowed(f"the operation has already ended ({status})", reason="OPERATION_FINISHED")


def final_status(decided: int, failed: int, *, cancelled: bool) -> str:
    """How a finished operation ended: cancelled wins; no failure is success (targets
    that were unchanged are no failure); every decided target failed is failure;
    otherwise partial."""
    if cancelled:
        return CANCELLED
    if failed == 0:
        return SUCCEEDED
    return FAILED if failed >= decided else PARTIALLY_FAILED
