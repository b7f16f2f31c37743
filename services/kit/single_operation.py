"""A single-number call as an operation of the journal («Результаты операций»).

A call that changes one number (a tariff, a block, a limit...) answers when the change is
done; it is nonetheless an operation of the company like a bulk one, so the owning service
tells it in its `vm.<service>.operation.updated.v1`, in the transaction of the change (or,
for a refusal, in one of its own once the change's has rolled back): finished when told,
`succeeded` or `failed`, with its one result. Its owner keeps no other record of it: the
update says `single`, and the journal answers for it itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.kit import operation_status
from services.kit.errors import DomainError
from services.kit.events import Event, new_event
from services.kit.ids import new_id
from vm.common.v1 import common_pb2

# Single operations' ids start so: nobody but the journal is asked about them.
PREFIX = "sop_"


@dataclass(frozen=True)
class Outcome:
    """The one result: `succeeded` (code "changed"), `unchanged` (it already was as asked)
    or `failed` (code: the refusal's reason in lower_snake)."""

    status: str
    code: str
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.status == operation_status.FAILED


CHANGED = Outcome(operation_status.SUCCEEDED, "changed")
UNCHANGED = Outcome(operation_status.UNCHANGED, "unchanged", "уже так")


def refused(error: DomainError) -> Outcome:
    return Outcome(operation_status.FAILED, error.reason.lower(), error.message)


@dataclass(frozen=True)
class SingleOperation:
    """What was asked of which number, by whom, when."""

    service: str  # "catalog", "billing": the owner
    company_id: str
    type: str  # the bulk type's name where there is one: block, change_tariff...
    title: str
    permission: str  # who sees it besides its author: holders of it for the whole company
    target: str  # the number
    created_by: str
    at: datetime


def operation_message(
    op: SingleOperation, outcome: Outcome, operation_id: str
) -> common_pb2.OperationUpdated:
    status = operation_status.FAILED if outcome.failed else operation_status.SUCCEEDED
    message = common_pb2.Operation(
        id=operation_id,
        type=op.type,
        status=operation_status.STATUS_VALUES[status],
        progress=100,
        total=1,
        done=1,
        failed=int(outcome.failed),
        unchanged=int(outcome.status == operation_status.UNCHANGED),
        created_by=op.created_by,
        company_id=op.company_id,
        title=op.title,
        service=op.service,
        permission=op.permission,
        results_url=f"/api/v1/operations/{operation_id}/results",
        single=True,
    )
    for name in ("created_at", "started_at", "finished_at"):
        getattr(message, name).FromDatetime(op.at)
    result = common_pb2.OperationTargetResult(
        target=op.target, status=outcome.status, code=outcome.code, detail=outcome.detail, seq=1
    )
    result.decided_at.FromDatetime(op.at)
    return common_pb2.OperationUpdated(operation=message, results=[result])


def operation_event(op: SingleOperation, outcome: Outcome, *, source: str) -> Event:
    """`vm.<service>.operation.updated.v1` telling the whole operation at once."""
    operation_id = new_id(PREFIX.rstrip("_"))
    return new_event(
        f"vm.{op.service}.operation.updated.v1",
        operation_message(op, outcome, operation_id),
        source=source,
        company_id=op.company_id,
        subject=operation_id,
    )
