"""Reports (documents' ReportService): the types, a request (202 with its operation at
once; the documents worker makes the file) and the file once it is made. A request needs
an `Idempotency-Key`: the same key with the same body gives the same operation again,
with another body 409 `idempotency_key_reused`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from gateway.paging import PageSize, PageToken, page_of
from gateway.routers.files import FILE_RESPONSES, file_response
from gateway.routers.operations import IdempotencyKey, Msisdns, OperationOut, operation_out
from gateway.security import ANY_USER, CurrentCredential, needs
from vm.documents.v1 import reports_pb2 as pb

router = APIRouter(prefix="/api/v1", tags=["reports"])
TIMEOUT = 60.0
RUN = needs("reports.run")


# The shapes of a period; whether it is a real, begun month or range is documents' to say.
Month = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}$", examples=["2026-10"])]
Day = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", examples=["2026-10-01"])]


class PeriodIn(BaseModel):
    """A month, or two dates (both included)."""

    month: Month | None = None
    from_: Day | None = Field(default=None, alias="from")
    to: Day | None = None

    def message(self) -> pb.Period:
        return pb.Period(month=self.month or "", to=self.to or "", **{"from": self.from_ or ""})


Period = Annotated[Month | PeriodIn, Field(description="YYYY-MM, or {from, to} dates")]


def period_message(value: str | PeriodIn) -> pb.Period:
    """The period as documents takes it; the request model has checked its shape."""
    return value.message() if isinstance(value, PeriodIn) else pb.Period(month=value)


class ReportIn(BaseModel):
    type: str = Field(
        max_length=64, description="usage, cdr, payments, services, inventory, spending_by_node"
    )
    format: Literal["xlsx", "csv", "pdf"]
    msisdns: Msisdns | None = Field(default=None, max_length=20_000)
    node_id: str | None = Field(default=None, max_length=64)
    period: Period


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
    request: Request,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> ReportTypes:
    """The report types with the formats each can be made in."""
    response = await request.app.state.backends.reports.ListReportTypes(
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
    body: ReportIn, key: IdempotencyKey, request: Request, credential: CurrentCredential
) -> OperationOut:
    """A report over numbers (a list or a node's subtree) and a period, made in the
    background; its file appears in the operation's `files`."""
    response = await request.app.state.backends.reports.RequestReport(
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
    request: Request,
    credential: CurrentCredential,
) -> StreamingResponse:
    """The report's file once it is made (404 before, and after the retention period)."""
    call = request.app.state.backends.reports.DownloadReport(
        pb.DownloadReportRequest(report_id=report_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return await file_response(call)
