"""TicketsOperatorService: the operator's support desk, proto ⇄ use case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc

from services.kit.context import current_caller
from services.kit.known_companies import KnownCompanies, KnownCompanyLookup
from services.tickets.grpc_api.convert import download_messages, filter_from, ticket_message
from services.tickets.service.desk import DeskCases
from vm.tickets.v1 import tickets_pb2 as pb
from vm.tickets.v1 import tickets_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext


class TicketsOperatorServicer(KnownCompanyLookup, pb_grpc.TicketsOperatorServiceServicer):
    response_type = pb.GetCompanyResponse

    def __init__(self, companies: KnownCompanies, desk: DeskCases) -> None:
        super().__init__(companies)
        self._desk = desk

    async def ListQueue(
        self, request: pb.ListQueueRequest, context: Context
    ) -> pb.ListQueueResponse:
        found, next_token = await self._desk.queue(
            current_caller(),
            filter_from(request.filter),
            request.company_id,
            request.assignee,
            request.page_size,
            request.page_token,
        )
        now = datetime.now(UTC)
        return pb.ListQueueResponse(
            tickets=[ticket_message(t, now) for t in found], next_page_token=next_token
        )

    async def InspectTicket(
        self, request: pb.InspectTicketRequest, context: Context
    ) -> pb.InspectTicketResponse:
        ticket = await self._desk.inspect(current_caller(), request.ticket_id)
        return pb.InspectTicketResponse(ticket=ticket_message(ticket, datetime.now(UTC)))

    async def AssignTicket(
        self, request: pb.AssignTicketRequest, context: Context
    ) -> pb.AssignTicketResponse:
        ticket = await self._desk.assign(current_caller(), request.ticket_id, request.assignee)
        return pb.AssignTicketResponse(ticket=ticket_message(ticket, datetime.now(UTC)))

    async def ReplyToTicket(
        self, request: pb.ReplyToTicketRequest, context: Context
    ) -> pb.ReplyToTicketResponse:
        ticket = await self._desk.reply(
            current_caller(), request.ticket_id, request.text, request.agent, request.status
        )
        return pb.ReplyToTicketResponse(ticket=ticket_message(ticket, datetime.now(UTC)))

    async def ChangeTicketStatus(
        self, request: pb.ChangeTicketStatusRequest, context: Context
    ) -> pb.ChangeTicketStatusResponse:
        ticket = await self._desk.change_status(
            current_caller(), request.ticket_id, request.status, request.text, request.agent
        )
        return pb.ChangeTicketStatusResponse(ticket=ticket_message(ticket, datetime.now(UTC)))

    async def DownloadTicketAttachment(
        self, request: pb.DownloadTicketAttachmentRequest, context: Context
    ) -> AsyncIterator[pb.DownloadTicketAttachmentResponse]:
        info, chunks = await self._desk.download(
            current_caller(), request.ticket_id, request.attachment_id
        )
        async for message in download_messages(pb.DownloadTicketAttachmentResponse, info, chunks):
            yield message
