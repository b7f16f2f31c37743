"""Tickets' domain objects ⇄ proto messages, shared by both servicers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from services.tickets.domain.tickets import (
    Actor,
    AttachmentInfo,
    Ticket,
    TicketFilter,
    checked_filter,
)
from services.tickets.domain.workflow import reopen_until
from vm.tickets.v1 import resources_pb2 as pb


def timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def actor_message(actor: Actor) -> pb.Actor:
    return pb.Actor(kind=actor.kind, id=actor.id, name=actor.name)


def attachment_message(info: AttachmentInfo) -> pb.Attachment:
    return pb.Attachment(
        id=info.id,
        filename=info.filename,
        content_type=info.content_type,
        size=info.size,
        uploaded_at=timestamp(info.uploaded_at),
        uploaded_by=actor_message(info.uploaded_by),
    )


def ticket_message(ticket: Ticket, now: datetime) -> pb.Ticket:
    return pb.Ticket(
        id=ticket.id,
        company_id=ticket.company_id,
        category=ticket.category,
        subject=ticket.subject,
        status=ticket.status,
        msisdns=list(ticket.msisdns),
        created_at=timestamp(ticket.created_at),
        due_at=timestamp(ticket.due_at),
        overdue=ticket.overdue(now),
        author=actor_message(ticket.author),
        assignee=ticket.assignee,
        history=[
            pb.HistoryEntry(
                at=timestamp(entry.at),
                actor=actor_message(entry.actor),
                kind=entry.kind,
                status=entry.status,
                text=entry.text,
                attachment_id=entry.attachment_id,
            )
            for entry in ticket.history
        ],
        attachments=[attachment_message(a) for a in ticket.attachments],
        updated_at=timestamp(ticket.updated_at),
        closed_at=timestamp(ticket.closed_at),
        reopen_until=timestamp(reopen_until(ticket.closed_at)),
        settlement_request_id=ticket.settlement_request_id,
    )


def filter_from(message: pb.TicketFilter) -> TicketFilter:
    return checked_filter(
        status=message.status,
        category=message.category,
        msisdn=message.msisdn,
        query=message.query,
        overdue=message.overdue if message.HasField("overdue") else None,
    )


async def download_messages(
    response_type: Any, info: AttachmentInfo, chunks: AsyncIterator[bytes]
) -> AsyncIterator[Any]:
    """The attachment's description first, then its bytes chunk by chunk."""
    yield response_type(attachment=attachment_message(info))
    async for chunk in chunks:
        yield response_type(chunk=chunk)
