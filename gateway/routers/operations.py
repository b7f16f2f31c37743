"""Bulk operations and SMS (catalog's BulkOperationService) and the operation-results
journal (documents' vm.common.v1.OperationsService: every operation of every service).

`POST /operations` and `POST /sms` answer 202 with the operation at once; catalog's bulk
worker runs it. Both need an `Idempotency-Key`: the same key with the same body gives the
same operation again, with another body 409 `idempotency_key_reused`. The journal's reads
and cancel (`GET /operations`, `GET /operations/{id}`, `…/results`, `POST …/cancel`) go to
documents, which forwards a cancel to the service that runs the operation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Self, Union

from fastapi import APIRouter, Path, Query
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from gateway.deps import Backends, IdempotencyKey
from gateway.fields import (
    NOT_BLANK,
    PHONE_PATTERN,
    BlockType,
    ForwardingCondition,
    LimitAction,
    LimitKind,
    Msisdn,
    whole_number,
)
from gateway.paging import PageSize, PageToken
from gateway.security import ANY_USER, PER_TYPE, CurrentCredential, needs
from services.kit.operation_status import status_name
from vm.catalog.v1 import bulk_operations_pb2 as pb
from vm.common.v1 import common_pb2, operations_pb2

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
# Types only a single-number call has (each is in the journal too).
SingleOnlyType = Literal["change_tariff_settings", "replace_sim", "replace_number"]
OperationStatus = Literal[
    "pending", "running", "succeeded", "failed", "partially_failed", "cancelled"
]
ResultStatus = Literal["pending", "succeeded", "unchanged", "failed", "cancelled"]
OperationId = Annotated[str, Path(min_length=1, max_length=64)]
Msisdns = list[Msisdn]
# An id in params (catalog trims it; at most 64 characters, never blank).
ParamId = Annotated[str, Field(min_length=1, max_length=64, pattern=NOT_BLANK)]
# The most a bulk set_limit may ask: 100 million roubles (catalog's LIMIT_AMOUNT_MAX).
LIMIT_AMOUNT_MAX = 100_000_000_00


class Targets(BaseModel):
    """Either `msisdns` or `node_id`, exactly one of them."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["msisdns"]}, {"required": ["node_id"]}]}
    )
    msisdns: Msisdns = Field(
        default=None,  # type: ignore[arg-type]  # absent, never null: one of the two
        min_length=1,
        max_length=20_000,
        description="numbers in any usual form",
    )
    node_id: str = Field(
        default=None,  # type: ignore[assignment]
        min_length=1,
        max_length=64,
        pattern=NOT_BLANK,
        description="or a node: every number of its subtree",
    )
    scheduled_at: datetime | None = Field(
        default=None,
        description="run then, at most 90 days ahead (cancellable until it starts); none or "
        "a past moment: now",
    )

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if ("msisdns" in self.model_fields_set) == ("node_id" in self.model_fields_set):
            raise ValueError("give either msisdns or node_id")
        return self


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # The request's action message of the type; its fields are named as the params.
    message_type: ClassVar[type[Message]]

    def message(self) -> Message:
        return self.message_type(**self.model_dump())


class TariffParams(_Params):
    message_type = pb.ChangeTariffAction
    tariff_id: ParamId
    settings: dict[Annotated[str, Field(max_length=64)], bool | int | str] = Field(
        default_factory=dict, max_length=20
    )

    def message(self) -> Message:
        # The message holds each setting as text, as catalog reads it: true → "true".
        settings = {name: _setting_text(value) for name, value in self.settings.items()}
        return pb.ChangeTariffAction(tariff_id=self.tariff_id, settings=settings)


def _setting_text(value: bool | int | str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ServiceParams(_Params):
    message_type = pb.ServiceAction
    service_id: ParamId


class BlockParams(_Params):
    message_type = pb.BlockAction
    type: BlockType


class LimitParams(_Params):
    message_type = pb.SetLimitAction
    kind: LimitKind
    amount: whole_number(1, LIMIT_AMOUNT_MAX) = Field(description="kopecks")  # type: ignore[valid-type]
    action: LimitAction


class LimitKindParams(_Params):
    message_type = pb.LimitKindAction
    kind: LimitKind


class ForwardingParams(_Params):
    message_type = pb.SetForwardingAction
    condition: ForwardingCondition
    target: str = Field(min_length=1, max_length=32, pattern=PHONE_PATTERN)


class ForwardingConditionParams(_Params):
    message_type = pb.ForwardingConditionAction
    condition: ForwardingCondition


class NodeParams(_Params):
    message_type = pb.NodeAction
    node_id: ParamId


class AccountParams(_Params):
    message_type = pb.AccountAction
    account_id: ParamId


_PARAMS: dict[str, type[_Params]] = {
    "change_tariff": TariffParams,
    "connect_service": ServiceParams,
    "disconnect_service": ServiceParams,
    "block": BlockParams,
    "unblock": BlockParams,
    "set_limit": LimitParams,
    "remove_limit": LimitKindParams,
    "set_forwarding": ForwardingParams,
    "remove_forwarding": ForwardingConditionParams,
    "move_to_node": NodeParams,
    "move_to_account": AccountParams,
}


def _operation_in(operation_type: str, params: type[_Params]) -> type[Targets]:
    """The request of one type: its `params` typed."""
    name = "Bulk" + "".join(part.capitalize() for part in operation_type.split("_")) + "In"
    return create_model(
        name,
        __base__=Targets,
        type=(Literal[operation_type], ...),  # type: ignore[arg-type]
        params=(params, ...),
        dry_run=(
            bool,
            Field(
                default=False,
                description="check every number and say what would change; change nothing",
            ),
        ),
    )


if TYPE_CHECKING:  # one model per type, made at run time; to the type checker, Targets
    OperationIn = Targets
else:
    OperationIn = Annotated[
        Union[tuple(_operation_in(t, p) for t, p in _PARAMS.items())],  # noqa: UP007
        Field(discriminator="type"),
    ]


class SmsIn(Targets):
    text: str = Field(max_length=670, pattern=NOT_BLANK)


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
    single: bool = Field(
        default=False,
        description="a single-number call (PUT /numbers/{msisdn}/tariff, a block...): "
        "finished when it answered, with its one result",
    )
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
        status=status_name(op.status),
        progress=op.progress,
        total=op.total,
        done=op.done,
        failed=op.failed,
        unchanged=op.unchanged,
        dry_run=op.dry_run,
        single=op.single,
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
    body: OperationIn, key: IdempotencyKey, backends: Backends, credential: CurrentCredential
) -> OperationOut:
    """One change for many numbers (a list or a node's subtree), each needing the type's
    permission where the number is; the operation runs in the background."""
    request = pb.StartBulkOperationRequest(
        msisdns=body.msisdns or [],
        node_id=body.node_id or "",
        dry_run=body.dry_run,  # type: ignore[attr-defined]
        scheduled_at=_scheduled(body),
        idempotency_key=key,
    )
    # The oneof's field is named as the type.
    getattr(request, body.type).CopyFrom(body.params.message())  # type: ignore[attr-defined]
    response = await backends.bulk_operations.StartBulkOperation(
        request,
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)


@router.post("/sms", status_code=202, response_model=OperationOut, openapi_extra=SMS)
async def send_sms(
    body: SmsIn, key: IdempotencyKey, backends: Backends, credential: CurrentCredential
) -> OperationOut:
    """An SMS to the numbers (a list or a node's subtree); each number's result says
    whether the SMS centre took it."""
    response = await backends.bulk_operations.SendSms(
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
    backends: Backends,
    credential: CurrentCredential,
    operation_type: Annotated[
        OperationType | SingleOnlyType | Literal["sms", "documents", "report"] | None,
        Query(alias="type"),
    ] = None,
    status: OperationStatus | None = None,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> OperationPage:
    """The operations the caller started, and every one of a type whose permission the
    caller holds for the whole company; newest first. Single-number calls are there too,
    each finished with its one result."""
    response = await backends.journal.ListOperations(
        operations_pb2.ListOperationsRequest(
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
    operation_id: OperationId, backends: Backends, credential: CurrentCredential
) -> OperationOut:
    """One operation with its status, progress, counters and files."""
    response = await backends.journal.GetOperation(
        operations_pb2.GetOperationRequest(operation_id=operation_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)


@router.get("/operations/{operation_id}/results", response_model=ResultPage, openapi_extra=ANY_USER)
async def list_operation_results(
    operation_id: OperationId,
    backends: Backends,
    credential: CurrentCredential,
    status: ResultStatus | None = None,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> ResultPage:
    """Each number's result, in the order of the request."""
    response = await backends.journal.ListOperationResults(
        operations_pb2.ListOperationResultsRequest(
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
                status=r.status,
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
    operation_id: OperationId, backends: Backends, credential: CurrentCredential
) -> OperationOut:
    """Before it starts: nothing is done. While it runs: it stops after the batch in hand;
    what was done stays done."""
    response = await backends.journal.CancelOperation(
        operations_pb2.CancelOperationRequest(operation_id=operation_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)
