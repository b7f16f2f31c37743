"""The company's numbers (catalog's NumberService): the list, the card, the company's notes,
moving numbers between nodes, and the export of a filtered list as CSV or XLSX.

The card shows what catalog has; the account and balance join it when billing serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import grpc
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from google.protobuf.timestamp_pb2 import Timestamp
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from pydantic import BaseModel, Field

from gateway.deps import Backends, BackendStubs, ReplayableMetadata
from gateway.fields import NOT_BLANK, ONE_LINE, MsisdnPath
from gateway.fields import Msisdn as MsisdnField
from gateway.paging import PageSize, PageToken
from gateway.routers.billing_shapes import AccountBrief, LimitOut, card_billing
from gateway.security import CurrentCredential, needs
from vm.catalog.v1 import hierarchy_pb2
from vm.catalog.v1 import numbers_pb2 as pb

router = APIRouter(prefix="/api/v1/numbers", tags=["numbers"])
TIMEOUT = 10.0
# The whole export: long lists take a while, but a stalled one must end some time.
EXPORT_TIMEOUT = 600.0
VIEW = needs("numbers.view")
NOTES = needs("numbers.manage_notes")
MANAGE = needs("hierarchy.manage")

STATUS_NAMES = {pb.NUMBER_STATUS_ACTIVE: "active", pb.NUMBER_STATUS_BLOCKED: "blocked"}
STATUS_VALUES = {name: value for value, name in STATUS_NAMES.items()}
STATUS_TITLES = {"active": "активен", "blocked": "заблокирован"}
Status = Literal["active", "blocked"]

EXPORT_HEADER = (
    "Номер",
    "ICCID",
    "Статус",
    "Тариф",
    "Узел",
    "Метка",
    "Комментарий",
    "Центр затрат",
)
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_CHUNK = 64 * 1024
# What makes a spreadsheet cell a formula: such text is exported as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Any usual form of a number in the path ("+7 (916) 123-45-67"); catalog normalises it.
Msisdn = MsisdnPath


class TariffOut(BaseModel):
    id: str
    name: str
    settings: dict[str, str]


class ConnectedServiceOut(BaseModel):
    id: str
    name: str
    connected_at: datetime


class BlockOut(BaseModel):
    type: str = Field(description="voluntary, lost_stolen, financial, limit, administrative")
    set_at: datetime


class ForwardingOut(BaseModel):
    condition: str = Field(description="unconditional, busy, no_reply, unreachable")
    target: str


class NumberOut(BaseModel):
    msisdn: str = Field(examples=["79161234567"])
    iccid: str
    status: str = Field(description="active or blocked")
    node_id: str
    tariff: TariffOut
    services: list[ConnectedServiceOut]
    blocks: list[BlockOut]
    forwarding: list[ForwardingOut]
    account_id: str | None
    label: str
    comment: str
    cost_center: str
    added_at: datetime


class NumberCardOut(NumberOut):
    """The card: catalog's number, with billing's account and limits when billing
    answers (both null when it does not)."""

    account: AccountBrief | None = None
    limits: list[LimitOut] | None = None


class NumberPage(BaseModel):
    items: list[NumberOut]
    next_page_token: str


class NumberPatch(BaseModel):
    """The company's own notes; an empty text clears one. Catalog checks the lengths
    (label 100, comment 500, cost centre 50 characters, after trimming)."""

    # A label and a cost centre are one line: no control characters (catalog's rule).
    label: str | None = Field(
        default=None, max_length=100, pattern=ONE_LINE, examples=["Водитель, Газель №3"]
    )
    comment: str | None = Field(default=None, max_length=500)
    cost_center: str | None = Field(
        default=None, max_length=50, pattern=ONE_LINE, examples=["ЦЗ-014"]
    )


class MoveIn(BaseModel):
    msisdns: list[MsisdnField] = Field(min_length=1, max_length=1000, examples=[["79161234567"]])
    node_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)


class MoveOut(BaseModel):
    moved: int = Field(description="how many numbers changed place (the others were there)")


def _moment(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def number_out(number: pb.Number) -> NumberOut:
    return NumberOut(
        msisdn=number.msisdn,
        iccid=number.iccid,
        status=STATUS_NAMES.get(number.status, "active"),
        node_id=number.node_id,
        tariff=TariffOut(
            id=number.tariff.id, name=number.tariff.name, settings=dict(number.tariff.settings)
        ),
        services=[
            ConnectedServiceOut(id=s.id, name=s.name, connected_at=_moment(s.connected_at))
            for s in number.services
        ],
        blocks=[BlockOut(type=b.type, set_at=_moment(b.set_at)) for b in number.blocks],
        forwarding=[
            ForwardingOut(condition=f.condition, target=f.target) for f in number.forwarding
        ],
        account_id=number.account_id or None,
        label=number.label,
        comment=number.comment,
        cost_center=number.cost_center,
        added_at=_moment(number.added_at),
    )


async def list_filters(
    node_id: str = Query(default="", max_length=64, description="the node's whole subtree"),
    status: Status | None = None,
    tariff_id: str = Query(default="", max_length=64),
    service_id: str = Query(default="", max_length=64),
    q: str = Query(
        default="",
        max_length=100,
        description="text in the number (its start), label, comment or cost centre",
    ),
) -> pb.NumberFilter:
    """The list's filters, the same for the list and the export (a coroutine: FastAPI runs
    a plain function's dependency in a worker thread, a hop per request)."""
    return pb.NumberFilter(
        node_id=node_id,
        status=STATUS_VALUES.get(status or "", pb.NUMBER_STATUS_UNSPECIFIED),
        tariff_id=tariff_id,
        service_id=service_id,
        query=q,
    )


Filters = Annotated[pb.NumberFilter, Depends(list_filters)]


@router.get("", response_model=NumberPage, openapi_extra=VIEW)
async def list_numbers(
    backends: Backends,
    credential: CurrentCredential,
    filters: Filters,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> NumberPage:
    """The numbers the caller may see, in number order (keyset pages: a page stays right
    while numbers are added or removed)."""
    response = await backends.numbers.ListNumbers(
        pb.ListNumbersRequest(filter=filters, page_size=page_size, page_token=page_token),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return NumberPage(
        items=[number_out(n) for n in response.numbers], next_page_token=response.next_page_token
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    openapi_extra=VIEW,
    responses={200: {"content": {CSV_TYPE: {}, XLSX_TYPE: {}}}},
)
async def export_numbers(
    backends: Backends,
    credential: CurrentCredential,
    filters: Filters,
    file_format: Literal["csv", "xlsx"] = Query(default="csv", alias="format"),
) -> StreamingResponse:
    """The whole filtered list as a file, sent while it is read (memory stays flat)."""
    nodes = await _node_names(backends, credential)
    call = backends.numbers.ExportNumbers(
        pb.ExportNumbersRequest(filter=filters),
        metadata=credential.metadata,
        timeout=EXPORT_TIMEOUT,
    )
    # The first page before the answer starts: a refusal is still a problem+json.
    first = await _read(call)
    rows = _rows(first, call, nodes)
    body = _csv(rows) if file_format == "csv" else _xlsx(rows)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        body,
        media_type=CSV_TYPE if file_format == "csv" else XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="numbers-{stamp}.{file_format}"'},
    )


@router.post("/move", response_model=MoveOut, openapi_extra=MANAGE)
async def move_numbers(body: MoveIn, backends: Backends, metadata: ReplayableMetadata) -> MoveOut:
    """All the numbers to the node, or none (hierarchy.manage at each number and at the
    node)."""
    response = await backends.numbers.MoveNumbers(
        pb.MoveNumbersRequest(msisdns=body.msisdns, node_id=body.node_id),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return MoveOut(moved=response.moved)


@router.get("/{msisdn}", response_model=NumberCardOut, openapi_extra=VIEW)
async def get_number(
    msisdn: Msisdn, backends: Backends, credential: CurrentCredential
) -> NumberCardOut:
    """The number's card: tariff and settings, services, blocks, forwarding, notes, and
    from billing its account (with the balance) and spending limits."""
    response, billing = await asyncio.gather(
        backends.numbers.GetNumber(
            pb.GetNumberRequest(msisdn=msisdn), metadata=credential.metadata, timeout=TIMEOUT
        ),
        card_billing(backends, credential, msisdn),
    )
    card = NumberCardOut(**number_out(response.number).model_dump())
    if billing is not None:
        card.account, card.limits = billing
    return card


@router.patch("/{msisdn}", response_model=NumberOut, openapi_extra=NOTES)
async def update_number(
    msisdn: Msisdn, body: NumberPatch, backends: Backends, credential: CurrentCredential
) -> NumberOut:
    """Label, comment and cost centre: the company's own notes, searchable in the list
    (numbers.manage_notes where the number is; each change is in the audit log)."""
    message = pb.UpdateNumberRequest(msisdn=msisdn)
    for name in ("label", "comment", "cost_center"):
        if (value := getattr(body, name)) is not None:
            setattr(message, name, value)
    response = await backends.numbers.UpdateNumber(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return number_out(response.number)


# ---------------------------------------------------------------- the export's files


async def _node_names(backends: BackendStubs, credential: CurrentCredential) -> dict[str, str]:
    response = await backends.hierarchy.GetHierarchy(
        hierarchy_pb2.GetHierarchyRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    return {node.id: node.name for node in response.nodes}


async def _read(call: grpc.aio.UnaryStreamCall) -> pb.ExportNumbersResponse | None:
    page = await call.read()
    return None if page is grpc.aio.EOF else page


def _row(number: pb.Number, nodes: dict[str, str]) -> tuple[str, ...]:
    status = STATUS_NAMES.get(number.status, "active")
    return (
        number.msisdn,
        number.iccid,
        STATUS_TITLES[status],
        number.tariff.name or number.tariff.id,
        nodes.get(number.node_id, number.node_id),
        number.label,
        number.comment,
        number.cost_center,
    )


Rows = AsyncGenerator[list[tuple[str, ...]], None]


async def _rows(
    first: pb.ExportNumbersResponse | None, call: grpc.aio.UnaryStreamCall, nodes: dict[str, str]
) -> Rows:
    """The rows page by page, as catalog sends them; the call ends with the response."""
    page = first
    try:
        while page is not None:
            yield [_row(number, nodes) for number in page.numbers]
            page = await _read(call)
    finally:
        call.cancel()  # a client that went away stops the reading too (no-op when done)


async def _csv(pages: Rows) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_HEADER)
    # The byte order mark makes spreadsheet programs read the file as UTF-8.
    yield ("\ufeff" + _drain(buffer)).encode()
    async with contextlib.aclosing(pages):
        async for rows in pages:
            writer.writerows([_csv_text(cell) for cell in row] for row in rows)
            yield _drain(buffer).encode()


def _csv_text(text: str) -> str:
    """A company's own text that a spreadsheet would run as a formula is kept as text
    (the apostrophe prefix spreadsheet programs understand)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


async def _xlsx(pages: Rows) -> AsyncIterator[bytes]:
    """Rows go into a write-only workbook as pages arrive: openpyxl writes them to a
    temporary file (only the workbook's table of distinct texts stays in memory, as XLSX
    keeps each text once); the finished file is then sent in chunks."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Номера")
    sheet.append(EXPORT_HEADER)
    async with contextlib.aclosing(pages):
        async for rows in pages:
            for row in rows:
                sheet.append([_xlsx_text(sheet, text) for text in row])
    with tempfile.TemporaryFile() as file:
        await asyncio.to_thread(workbook.save, file)
        file.seek(0)
        while chunk := await asyncio.to_thread(file.read, FILE_CHUNK):
            yield chunk


def _xlsx_text(sheet: Any, text: str) -> WriteOnlyCell:
    """A text cell, always: openpyxl would make "=..." a formula."""
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell
