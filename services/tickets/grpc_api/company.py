"""TicketService: the company's side, proto ⇄ use case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc

from services.kit.context import current_caller
from services.tickets.domain.tickets import DUE_FIRST, NEWEST_FIRST
from services.tickets.grpc_api.convert import (
    attachment_message,
    download_messages,
    filter_from,
    ticket_message,
)
from services.tickets.service.tickets import CompanyTicketCases
from vm.tickets.v1 import resources_pb2, tickets_pb2, tickets_pb2_grpc

Context = grpc.aio.ServicerContext
ORDERS = {resources_pb2.TICKET_ORDER_DUE_FIRST: DUE_FIRST}


class TicketServicer(tickets_pb2_grpc.TicketServiceServicer):
    def __init__(self, cases: CompanyTicketCases) -> None:
        self._cases = cases

    async def CreateTicket(
        self, request: tickets_pb2.CreateTicketRequest, context: Context
    ) -> tickets_pb2.CreateTicketResponse:
        ticket = await self._cases.create_ticket(
            current_caller(), request.category, request.subject, request.text, request.msisdns
        )
        return tickets_pb2.CreateTicketResponse(ticket=ticket_message(ticket, _now()))

    async def ListTickets(
        self, request: tickets_pb2.ListTicketsRequest, context: Context
    ) -> tickets_pb2.ListTicketsResponse:
        found, next_token = await self._cases.list_tickets(
            current_caller(),
            filter_from(request.filter),
            ORDERS.get(request.order, NEWEST_FIRST),
            request.page_size,
            request.page_token,
        )
        now = _now()
        return tickets_pb2.ListTicketsResponse(
            tickets=[ticket_message(t, now) for t in found], next_page_token=next_token
        )

    async def GetTicket(
        self, request: tickets_pb2.GetTicketRequest, context: Context
    ) -> tickets_pb2.GetTicketResponse:
        ticket = await self._cases.get_ticket(current_caller(), request.ticket_id)
        return tickets_pb2.GetTicketResponse(ticket=ticket_message(ticket, _now()))

    async def AddComment(
        self, request: tickets_pb2.AddCommentRequest, context: Context
    ) -> tickets_pb2.AddCommentResponse:
        ticket = await self._cases.comment(current_caller(), request.ticket_id, request.text)
        return tickets_pb2.AddCommentResponse(ticket=ticket_message(ticket, _now()))

    async def AddAttachment(
        self, request: tickets_pb2.AddAttachmentRequest, context: Context
    ) -> tickets_pb2.AddAttachmentResponse:
        ticket, info = await self._cases.attach(
            current_caller(),
            request.ticket_id,
            request.filename,
            request.content_type,
            request.content,
        )
        return tickets_pb2.AddAttachmentResponse(
            ticket=ticket_message(ticket, _now()), attachment=attachment_message(info)
        )

    async def DownloadAttachment(
        self, request: tickets_pb2.DownloadAttachmentRequest, context: Context
    ) -> AsyncIterator[tickets_pb2.DownloadAttachmentResponse]:
        info, chunks = await self._cases.download(
            current_caller(), request.ticket_id, request.attachment_id
        )
        async for message in download_messages(
            tickets_pb2.DownloadAttachmentResponse, info, chunks
        ):
            yield message

    async def CloseTicket(
        self, request: tickets_pb2.CloseTicketRequest, context: Context
    ) -> tickets_pb2.CloseTicketResponse:
        ticket = await self._cases.close(current_caller(), request.ticket_id, request.text)
        return tickets_pb2.CloseTicketResponse(ticket=ticket_message(ticket, _now()))

    async def ReopenTicket(
        self, request: tickets_pb2.ReopenTicketRequest, context: Context
    ) -> tickets_pb2.ReopenTicketResponse:
        ticket = await self._cases.reopen(current_caller(), request.ticket_id, request.text)
        return tickets_pb2.ReopenTicketResponse(ticket=ticket_message(ticket, _now()))


def _now() -> datetime:
    return datetime.now(UTC)
