"""AuditService: proto ⇄ use case."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf.message import Message

from services.identity.domain.audit import AuditEntry
from services.identity.grpc_api.convert import timestamp
from services.identity.service import IdentityCases
from services.kit.context import current_caller
from vm.identity.v1 import audit_pb2 as pb
from vm.identity.v1 import audit_pb2_grpc as pb_grpc
from vm.identity.v1 import resources_pb2

Context = grpc.aio.ServicerContext


def audit_event_message(entry: AuditEntry) -> resources_pb2.AuditEvent:
    return resources_pb2.AuditEvent(
        id=entry.id,
        at=timestamp(entry.at),
        actor=entry.actor,
        actor_kind=entry.actor_kind,
        type=entry.type,
        target=entry.target,
        result=entry.result,
        service=entry.service,
        summary=entry.summary,
    )


def _moment(request: Message, name: str) -> datetime | None:
    # `from` is a Python keyword, hence getattr.
    return getattr(request, name).ToDatetime(tzinfo=UTC) if request.HasField(name) else None


class AuditServicer(pb_grpc.AuditServiceServicer):
    def __init__(self, cases: IdentityCases) -> None:
        self._audit = cases.audit

    async def ListAuditEvents(
        self, request: pb.ListAuditEventsRequest, context: Context
    ) -> pb.ListAuditEventsResponse:
        entries, next_token = await self._audit.list_events(
            current_caller(),
            request.page_size,
            request.page_token,
            actor=request.actor,
            event_type=request.type,
            since=_moment(request, "from"),
            until=_moment(request, "to"),
        )
        return pb.ListAuditEventsResponse(
            events=[audit_event_message(e) for e in entries], next_page_token=next_token
        )
