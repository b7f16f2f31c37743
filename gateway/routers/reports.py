"""Reports (documents' ReportService): the types, a request (202 with its operation at
once; the documents worker makes the file) and the file once it is made. A request needs
an `Idempotency-Key`: the same key with the same body gives the same operation again,
with another body 409 `idempotency_key_reused`."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal, Self

from fastapi import APIRouter, Path
from fastapi.responses import StreamingResponse
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from gateway.deps import Backends, IdempotencyKey
from gateway.fields import NOT_BLANK
from gateway.paging import PageSize, PageToken, page_of
from gateway.routers.files import FILE_RESPONSES, file_response
from gateway.routers.operations import Msisdns, OperationOut, operation_out
from gateway.security import ANY_USER, CurrentCredential, needs
from services.documents.domain.reports import REPORT_TYPES, TARGETS_MAX
from vm.documents.v1 import reports_pb2 as pb

router = APIRouter(prefix="/api/v1", tags=["reports"])
TIMEOUT = 60.0
RUN = needs("reports.run")


# The shapes of a period: a real month or day from 2000 on (documents' EARLIEST). Whether
# it has begun or ended, and a range's order and length, are rules of now and of two
# fields: documents answers those with 409 `not_allowed`.
_YEAR = "[2-9][0-9]{3}"
_MONTH = "(?:0[1-9]|1[0-2])"
Month = Annotated[str, Field(pattern=rf"^{_YEAR}-{_MONTH}$", examples=["2026-10"])]
_DAY = re.compile(rf"^{_YEAR}-{_MONTH}-(?:0[1-9]|[12][0-9]|3[01])$")


def _day_text(value: object) -> object:
    if not isinstance(value, str) or not _DAY.match(value):
        raise ValueError("a date YYYY-MM-DD from 2000-01-01")
    return value


Day = Annotated[
    date,
    BeforeValidator(_day_text),
    WithJsonSchema(
        {"type": "string", "format": "date", "pattern": _DAY.pattern, "examples": ["2026-10-01"]}
    ),
]


class PeriodIn(BaseModel):
    """Two dates, both included."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: Day = Field(alias="from")
    to: Day

    def message(self) -> pb.Period:
        return pb.Period(to=self.to.isoformat(), **{"from": self.from_.isoformat()})


Period = Annotated[Month | PeriodIn, Field(description="YYYY-MM, or {from, to} dates")]


def period_message(value: str | PeriodIn) -> pb.Period:
    """The period as documents takes it; the request model has checked its shape."""
    return value.message() if isinstance(value, PeriodIn) else pb.Period(month=value)


class ReportIn(BaseModel):
    """Numbers (`msisdns`) or a node's subtree (`node_id`), exactly one of them."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["msisdns"]}, {"required": ["node_id"]}]}
    )
    type: Literal[tuple(REPORT_TYPES)]  # type: ignore[valid-type]
    format: Literal["xlsx", "csv", "pdf"]
    msisdns: Msisdns = Field(
        default=None,  # type: ignore[arg-type]  # absent, never null: one of the two
        min_length=1,
        max_length=TARGETS_MAX,
    )
    node_id: str = Field(
        default=None,  # type: ignore[assignment]
        min_length=1,
        max_length=64,
        pattern=NOT_BLANK,
    )
    period: Period

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if ("msisdns" in self.model_fields_set) == ("node_id" in self.model_fields_set):
            raise ValueError("give either msisdns or node_id")
        return self


class ReportTypeOut(BaseModel):
    id: str
    title: str
    description: str
    formats: list[str]


class ReportTypes(BaseModel):
    items: list[ReportTypeOut]
    next_page_token: str = Field(description="empty after the last page")


@router.get("/report-types", response_model=ReportTypes, openapi_extra=ANY_USER)
async def report_types(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> ReportTypes:
    """The report types with the formats each can be made in."""
    response = await backends.reports.ListReportTypes(
        pb.ListReportTypesRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    types, next_token = page_of(response.types, page_size, page_token)
    return ReportTypes(
        items=[
            ReportTypeOut(
                id=t.id, title=t.title, description=t.description, formats=list(t.formats)
            )
            for t in types
        ],
        next_page_token=next_token,
    )


@router.post("/reports", status_code=202, response_model=OperationOut, openapi_extra=RUN)
async def request_report(
    body: ReportIn, key: IdempotencyKey, backends: Backends, credential: CurrentCredential
) -> OperationOut:
    """A report over numbers (a list or a node's subtree) and a period, made in the
    background; its file appears in the operation's `files`."""
    response = await backends.reports.RequestReport(
        pb.RequestReportRequest(
            type=body.type,
            format=body.format,
            msisdns=body.msisdns or [],
            node_id=body.node_id or "",
            period=period_message(body.period),
            idempotency_key=key,
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return operation_out(response.operation)


@router.get(
    "/reports/{report_id}/file",
    response_class=StreamingResponse,
    responses=FILE_RESPONSES,
    openapi_extra=RUN,
)
async def download_report(
    report_id: Annotated[str, Path(min_length=1, max_length=64)],
    backends: Backends,
    credential: CurrentCredential,
) -> StreamingResponse:
    """The report's file once it is made (404 before, and after the retention period)."""
    call = backends.reports.DownloadReport(
        pb.DownloadReportRequest(report_id=report_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return await file_response(call)
