"""Bulk operations and SMS (catalog's BulkOperationService) and the operation-results
journal (documents' OperationJournalService: every operation of every service).

`POST /operations` and `POST /sms` answer 202 with the operation at once; catalog's bulk
worker runs it. Both need an `Idempotency-Key`: the same key with the same body gives the
same operation again, with another body 409 `idempotency_key_reused`. The journal's reads
and cancel (`GET /operations`, `GET /operations/{id}`, `…/results`, `POST …/cancel`) go to
documents, which forwards a cancel to the service that runs the operation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from gateway.security import ANY_USER, PER_TYPE, CurrentCredential, needs
from services.kit.operation_status import status_name
from services.kit.paging import MAX_PAGE_SIZE
from vm.catalog.v1 import bulk_operations_pb2 as pb
from vm.common.v1 import common_pb2
from vm.documents.v1 import journal_pb2

router = APIRouter(prefix="/api/v1", tags=["operations"])
TIMEOUT = 30.0
SMS = needs("numbers.sms")

OperationType = Literal[
    "change_tariff",
    "connect_service",
    "disconnect_service",
    "block",
    "unblock",
    "set_limit",
    "remove_limit",
    "set_forwarding",
    "remove_forwarding",
    "move_to_node",
    "move_to_account",
]
OperationStatus = Literal[
    "pending", "running", "succeeded", "failed", "partially_failed", "cancelled"
]
ResultStatus = Literal["pending", "succeeded", "unchanged", "failed", "cancelled"]
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="new for each request; a repeat with the same body gives the same answer",
    ),
]
OperationId = Annotated[str, Path(min_length=1, max_length=64)]
Msisdns = list[Annotated[str, Field(max_length=32)]]


class Targets(BaseModel):
    msisdns: Msisdns | None = Field(
        default=None, max_length=20_000, description="numbers in any usual form"
    )
    node_id: str | None = Field(
        default=None, max_length=64, description="or a node: every number of its subtree"
    )
    scheduled_at: datetime | None = Field(
        default=None, description="run then (cancellable until it starts); none: now"
    )


class OperationIn(Targets):
    type: OperationType
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="the type's parameters: change_tariff {tariff_id, settings?}, "
        "connect_service / disconnect_service {service_id}, block / unblock {type}, "
        "set_limit {kind, amount, action}, remove_limit {kind}, set_forwarding "
        "{condition, target}, remove_forwarding {condition}, move_to_node {node_id}, "
        "move_to_account {account_id}",
        examples=[{"type": "voluntary"}],
    )
    dry_run: bool = Field(
        default=False, description="check every number and say what would change; change nothing"
    )


class SmsIn(Targets):
    text: str = Field(min_length=1, max_length=670)


class OperationFileOut(BaseModel):
    name: str
    url: str
    content_type: str
    size: int


class OperationOut(BaseModel):
    id: str
    type: str
    title: str
    status: OperationStatus
    progress: int = Field(description="0..100")
    total: int
    done: int = Field(description="targets decided: succeeded, unchanged or failed")
    failed: int
    unchanged: int = Field(description="of `done`, the targets that already were as asked")
    dry_run: bool
    created_at: datetime | None
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_by: str
    results_url: str
    files: list[OperationFileOut]


class OperationPage(BaseModel):
    items: list[OperationOut]
    next_page_token: str


class ResultOut(BaseModel):
    msisdn: str = Field(description="the number, for operations on numbers (else empty)")
    target: str = Field(description="what the result is about: a number, a document")
    status: ResultStatus
    code: str = Field(
        description="succeeded: changed, would_change, delivered; unchanged: unchanged, or "
        "why there was nothing to do (already_blocked, not_blocked, already_connected, "
        "not_connected, forwarding_not_set, limit_not_set); failed: the reason (not_found, "
        "provisioning_failed, incompatible, ...)"
    )
    detail: str


class ResultPage(BaseModel):
    items: list[ResultOut]
    next_page_token: str


def operation_out(op: common_pb2.Operation) -> OperationOut:
    def moment(name: str) -> datetime | None:
        return getattr(op, name).ToDatetime(tzinfo=UTC) if op.HasField(name) else None

    return OperationOut(
        id=op.id,
        type=op.type,
        title=op.title,
        status=status_name(op.status),  # type: ignore[arg-type]
        progress=op.progress,
        total=op.total,
        done=op.done,
        failed=op.failed,
        unchanged=op.unchanged,
        dry_run=op.dry_run,
        created_at=moment("created_at"),
        scheduled_at=moment("scheduled_at"),
        started_at=moment("started_at"),
        finished_at=moment("finished_at"),
        created_by=op.created_by,
        results_url=f"/api/v1/operations/{op.id}/results",
        files=[
            OperationFileOut(name=f.name, url=f.url, content_type=f.content_type, size=f.size)
            for f in op.files
        ],
    )


def _scheduled(body: Targets) -> Timestamp | None:
    if body.scheduled_at is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(body.scheduled_at)
    return stamp


@router.post("/operations", status_code=202, response_model=OperationOut, openapi_extra=PER_TYPE)
async def start_operation(
    body: OperationIn, key: IdempotencyKey, request: Request, credential: CurrentCredential
) -> OperationOut:
    """One change for many numbers (a list or a node's subtree), each needing the type's
    permission where the number is; the operation runs in the background."""
    params = struct_pb2.Struct()
    params.update(body.params)
    response = await request.app.state.backends.bulk_operations.StartBulkOperation(
        pb.StartBulkOperationRequest(
            type=body.type,
            msisdns=body.msisdns or [],
            node_id=body.node_id or "",
            params=params,
            dry_run=body.dry_run,
            scheduled_at=_scheduled(body),
            idempotency_key=key,
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)


@router.post("/sms", status_code=202, response_model=OperationOut, openapi_extra=SMS)
async def send_sms(
    body: SmsIn, key: IdempotencyKey, request: Request, credential: CurrentCredential
) -> OperationOut:
    """An SMS to the numbers (a list or a node's subtree); each number's result says
    whether the SMS centre took it."""
    response = await request.app.state.backends.bulk_operations.SendSms(
        pb.SendSmsRequest(
            msisdns=body.msisdns or [],
            node_id=body.node_id or "",
            text=body.text,
            scheduled_at=_scheduled(body),
            idempotency_key=key,
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)


@router.get("/operations", response_model=OperationPage, openapi_extra=ANY_USER)
async def list_operations(
    request: Request,
    credential: CurrentCredential,
    operation_type: Annotated[
        OperationType | Literal["sms", "documents", "report"] | None, Query(alias="type")
    ] = None,
    status: OperationStatus | None = None,
    page_size: int = Query(default=0, ge=0, le=MAX_PAGE_SIZE),
    page_token: str = Query(default="", max_length=500),
) -> OperationPage:
    """The operations the caller started, and every one of a type whose permission the
    caller holds for the whole company; newest first."""
    response = await request.app.state.backends.journal.ListOperations(
        journal_pb2.ListOperationsRequest(
            type=operation_type or "",
            status=status or "",
            page_size=page_size,
            page_token=page_token,
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return OperationPage(
        items=[operation_out(op) for op in response.operations],
        next_page_token=response.next_page_token,
    )


@router.get("/operations/{operation_id}", response_model=OperationOut, openapi_extra=ANY_USER)
async def get_operation(
    operation_id: OperationId, request: Request, credential: CurrentCredential
) -> OperationOut:
    """One operation with its status, progress, counters and files."""
    response = await request.app.state.backends.journal.GetOperation(
        journal_pb2.GetOperationRequest(operation_id=operation_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)


@router.get("/operations/{operation_id}/results", response_model=ResultPage, openapi_extra=ANY_USER)
async def list_operation_results(
    operation_id: OperationId,
    request: Request,
    credential: CurrentCredential,
    status: ResultStatus | None = None,
    page_size: int = Query(default=0, ge=0, le=MAX_PAGE_SIZE),
    page_token: str = Query(default="", max_length=500),
) -> ResultPage:
    """Each number's result, in the order of the request."""
    response = await request.app.state.backends.journal.ListOperationResults(
        journal_pb2.ListOperationResultsRequest(
            operation_id=operation_id,
            status=status or "",
            page_size=page_size,
            page_token=page_token,
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return ResultPage(
        items=[
            ResultOut(
                msisdn=r.target if r.target.isdigit() else "",
                target=r.target,
                status=r.status,  # type: ignore[arg-type]
                code=r.code,
                detail=r.detail,
            )
            for r in response.results
        ],
        next_page_token=response.next_page_token,
    )


@router.post(
    "/operations/{operation_id}/cancel", response_model=OperationOut, openapi_extra=ANY_USER
)
async def cancel_operation(
    operation_id: OperationId, request: Request, credential: CurrentCredential
) -> OperationOut:
    """Before it starts: nothing is done. While it runs: it stops after the batch in hand;
    what was done stays done."""
    response = await request.app.state.backends.journal.CancelOperation(
        journal_pb2.CancelOperationRequest(operation_id=operation_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)
