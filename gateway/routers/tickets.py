"""The company's tickets to the operator (tickets' TicketService): open, list and filter,
read with the whole history, comment, attach and download files, close, reopen.

Attachments come as multipart/form-data (one `file` part) and go to the service whole (at
most 10 MiB: it checks the size and the real type); a download streams the file back in
the chunks the service sends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import quote

import grpc
from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from gateway.deps import Backends, ReplayableMetadata
from gateway.fields import NOT_BLANK, Msisdn, MsisdnQuery
from gateway.paging import PageSize, PageToken
from gateway.problems import Problem
from gateway.schemas import moment, optional_moment
from gateway.security import CurrentCredential, needs
from services.tickets.domain.attachments import MAX_SIZE
from vm.tickets.v1 import resources_pb2
from vm.tickets.v1 import tickets_pb2 as pb

router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"])
TIMEOUT = 10.0
UPLOAD_TIMEOUT = 60.0
VIEW = needs("tickets.view")
MANAGE = needs("tickets.manage")
# A multipart body carries a little more than the file: its boundaries and part headers.
MULTIPART_SLACK = 64 * 1024

Category = Literal["billing", "technical", "number_porting", "contract", "other"]
Status = Literal["open", "in_progress", "waiting_for_customer", "resolved", "closed"]
TicketId = Annotated[str, Path(min_length=1, max_length=64)]
ORDERS = {
    "newest": resources_pb2.TICKET_ORDER_NEWEST_FIRST,
    "due": resources_pb2.TICKET_ORDER_DUE_FIRST,
}


class ActorOut(BaseModel):
    kind: str = Field(description="customer, operator or system")
    id: str
    name: str


class HistoryEntryOut(BaseModel):
    at: datetime
    actor: ActorOut
    kind: str = Field(description="created, status_changed, comment or attachment")
    status: str | None = None
    text: str | None = None
    attachment_id: str | None = None


class AttachmentOut(BaseModel):
    id: str
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime
    uploaded_by: ActorOut
    url: str


class TicketOut(BaseModel):
    id: str
    category: str
    subject: str
    status: str
    msisdns: list[str]
    created_at: datetime
    due_at: datetime
    overdue: bool
    author: ActorOut
    assignee: str | None
    history: list[HistoryEntryOut] = Field(description="empty in lists: read the ticket")
    attachments: list[AttachmentOut]
    updated_at: datetime
    closed_at: datetime | None
    reopen_until: datetime | None = Field(description="a closed ticket reopens until then")


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_page_token: str


# What tickets keeps (services/tickets/domain/tickets.py): texts trimmed, never blank.
SUBJECT_MAX = 200
TEXT_MAX = 5_000


class TicketIn(BaseModel):
    category: Category = Field(examples=["technical"])
    subject: str = Field(
        max_length=SUBJECT_MAX, pattern=NOT_BLANK, examples=["Нет связи в офисе на Тверской"]
    )
    text: str = Field(
        max_length=TEXT_MAX,
        pattern=NOT_BLANK,
        examples=["С утра номера отдела не принимают звонки"],
    )
    msisdns: list[Msisdn] = Field(default_factory=list, max_length=50, examples=[["79161234567"]])


class CommentIn(BaseModel):
    text: str = Field(max_length=TEXT_MAX, pattern=NOT_BLANK)


class ReasonIn(BaseModel):
    text: str = Field(default="", max_length=TEXT_MAX, description="why, optional")


def _actor(actor: resources_pb2.Actor) -> ActorOut:
    return ActorOut(kind=actor.kind, id=actor.id, name=actor.name)


def attachment_out(ticket_id: str, a: resources_pb2.Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        filename=a.filename,
        content_type=a.content_type,
        size=a.size,
        uploaded_at=moment(a.uploaded_at),
        uploaded_by=_actor(a.uploaded_by),
        url=f"{router.prefix}/{ticket_id}/attachments/{a.id}",
    )


def ticket_out(t: resources_pb2.Ticket) -> TicketOut:
    return TicketOut(
        id=t.id,
        category=t.category,
        subject=t.subject,
        status=t.status,
        msisdns=list(t.msisdns),
        created_at=moment(t.created_at),
        due_at=moment(t.due_at),
        overdue=t.overdue,
        author=_actor(t.author),
        assignee=t.assignee or None,
        history=[
            HistoryEntryOut(
                at=moment(e.at),
                actor=_actor(e.actor),
                kind=e.kind,
                status=e.status or None,
                text=e.text or None,
                attachment_id=e.attachment_id or None,
            )
            for e in t.history
        ],
        attachments=[attachment_out(t.id, a) for a in t.attachments],
        updated_at=moment(t.updated_at),
        closed_at=optional_moment(t, "closed_at"),
        reopen_until=optional_moment(t, "reopen_until"),
    )


@router.get("", response_model=TicketPage, openapi_extra=VIEW)
async def list_tickets(
    backends: Backends,
    credential: CurrentCredential,
    status: Status | None = None,
    category: Category | None = None,
    msisdn: MsisdnQuery = None,
    q: str | None = Query(default=None, max_length=100, description="text in subject or history"),
    overdue: bool | None = None,
    order: Literal["newest", "due"] = Query(
        default="newest", description="newest first, or soonest due first"
    ),
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> TicketPage:
    """The company's tickets a caller sees (scoped callers: those about their subtree)."""
    ticket_filter = resources_pb2.TicketFilter(
        status=status or "", category=category or "", msisdn=msisdn or "", query=q or ""
    )
    if overdue is not None:
        ticket_filter.overdue = overdue
    response = await backends.tickets.ListTickets(
        pb.ListTicketsRequest(
            filter=ticket_filter, order=ORDERS[order], page_size=page_size, page_token=page_token
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return TicketPage(
        items=[ticket_out(t) for t in response.tickets], next_page_token=response.next_page_token
    )


@router.post("", status_code=201, response_model=TicketOut, openapi_extra=MANAGE)
async def create_ticket(
    body: TicketIn, backends: Backends, metadata: ReplayableMetadata
) -> TicketOut:
    """Due by the category's response time; the numbers must be the caller's."""
    response = await backends.tickets.CreateTicket(
        pb.CreateTicketRequest(
            category=body.category, subject=body.subject, text=body.text, msisdns=body.msisdns
        ),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return ticket_out(response.ticket)


@router.get("/{ticket_id}", response_model=TicketOut, openapi_extra=VIEW)
async def get_ticket(
    ticket_id: TicketId, backends: Backends, credential: CurrentCredential
) -> TicketOut:
    """The ticket with its whole history: every status change, comment and file, who, when."""
    response = await backends.tickets.GetTicket(
        pb.GetTicketRequest(ticket_id=ticket_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return ticket_out(response.ticket)


@router.post(
    "/{ticket_id}/comments", status_code=201, response_model=TicketOut, openapi_extra=MANAGE
)
async def add_comment(
    ticket_id: TicketId, body: CommentIn, backends: Backends, metadata: ReplayableMetadata
) -> TicketOut:
    """A comment; on a ticket waiting for the customer it goes back to the operator."""
    response = await backends.tickets.AddComment(
        pb.AddCommentRequest(ticket_id=ticket_id, text=body.text),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return ticket_out(response.ticket)


@router.post(
    "/{ticket_id}/attachments", status_code=201, response_model=AttachmentOut, openapi_extra=MANAGE
)
async def add_attachment(
    ticket_id: TicketId,
    request: Request,
    backends: Backends,
    metadata: ReplayableMetadata,
    file: Annotated[UploadFile, File(description="PDF, an image or an office file, ≤ 10 MiB")],
) -> AttachmentOut:
    """One file (multipart/form-data, part `file`); its type is checked by its content."""
    declared = int(request.headers.get("content-length") or 0)
    content = await file.read(MAX_SIZE + 1)
    if declared > MAX_SIZE + MULTIPART_SLACK or len(content) > MAX_SIZE:
        raise Problem(
            "validation_failed",
            "the file is too large",
            errors=[{"field": "file", "message": f"at most {MAX_SIZE // (1024 * 1024)} MiB"}],
        )
    response = await backends.tickets.AddAttachment(
        pb.AddAttachmentRequest(
            ticket_id=ticket_id,
            filename=file.filename or "",
            content_type=file.content_type or "",
            content=content,
        ),
        metadata=metadata,
        timeout=UPLOAD_TIMEOUT,
    )
    return attachment_out(ticket_id, response.attachment)


@router.get(
    "/{ticket_id}/attachments/{attachment_id}",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
    openapi_extra=VIEW,
)
async def download_attachment(
    ticket_id: TicketId,
    attachment_id: Annotated[str, Path(min_length=1, max_length=64)],
    backends: Backends,
    credential: CurrentCredential,
) -> StreamingResponse:
    """The file as it was attached (another company's ticket or file: 404)."""
    call = backends.tickets.DownloadAttachment(
        pb.DownloadAttachmentRequest(ticket_id=ticket_id, attachment_id=attachment_id),
        metadata=credential.metadata,
        timeout=UPLOAD_TIMEOUT,
    )
    first = await call.read()  # errors (404, 403) surface here, before the response starts
    if first is grpc.aio.EOF:
        raise Problem("not_found", "no such attachment")
    attachment = first.attachment
    return StreamingResponse(
        _chunks(call),
        media_type=attachment.content_type,
        headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quote(attachment.filename)}",
            "content-length": str(attachment.size),
            "x-content-type-options": "nosniff",
        },
    )


async def _chunks(call: grpc.aio.UnaryStreamCall) -> AsyncIterator[bytes]:
    while (message := await call.read()) is not grpc.aio.EOF:
        yield message.chunk


@router.post("/{ticket_id}/close", response_model=TicketOut, openapi_extra=MANAGE)
async def close_ticket(
    ticket_id: TicketId,
    backends: Backends,
    credential: CurrentCredential,
    body: ReasonIn | None = None,
) -> TicketOut:
    """Withdraw the ticket, or confirm its resolution; it can be reopened for 14 days."""
    response = await backends.tickets.CloseTicket(
        pb.CloseTicketRequest(ticket_id=ticket_id, text=body.text if body else ""),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return ticket_out(response.ticket)


@router.post("/{ticket_id}/reopen", response_model=TicketOut, openapi_extra=MANAGE)
async def reopen_ticket(
    ticket_id: TicketId,
    backends: Backends,
    credential: CurrentCredential,
    body: ReasonIn | None = None,
) -> TicketOut:
    """A resolved ticket, or a closed one within 14 days of its closing, opens again."""
    response = await backends.tickets.ReopenTicket(
        pb.ReopenTicketRequest(ticket_id=ticket_id, text=body.text if body else ""),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return ticket_out(response.ticket)
