"""The audit log of the company (identity's AuditService)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from google.protobuf.timestamp_pb2 import Timestamp
from pydantic import BaseModel, Field

from gateway.deps import Backends
from gateway.fields import Rfc3339
from gateway.paging import PageSize, PageToken
from gateway.security import CurrentCredential, needs
from vm.identity.v1 import audit_pb2 as pb

router = APIRouter(prefix="/api/v1", tags=["audit"])
TIMEOUT = 10.0
RFC3339 = "RFC 3339 with an offset, e.g. 2025-03-01T00:00:00Z"


class AuditEventOut(BaseModel):
    id: str
    at: datetime
    actor: str = Field(description='a user id, an API key id, "operator", or "system"')
    actor_kind: str = Field(description="user, api_key, operator, anonymous or system")
    type: str = Field(examples=["vm.identity.user.created.v1"])
    target: str
    result: str = Field(description='"succeeded", or "denied" for a refused request')
    service: str
    summary: str


class AuditEventPage(BaseModel):
    items: list[AuditEventOut]
    next_page_token: str


def _timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


@router.get("/audit-events", response_model=AuditEventPage, openapi_extra=needs("audit.view"))
async def list_audit_events(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
    actor: str = Query(default="", max_length=100, description="a user id, operator, system"),
    type: str = Query(default="", max_length=200, description="an event type"),
    since: Annotated[
        Rfc3339 | None, Query(alias="from", description=f"from this moment on; {RFC3339}")
    ] = None,
    until: Annotated[
        Rfc3339 | None, Query(alias="to", description=f"before this moment; {RFC3339}")
    ] = None,
) -> AuditEventPage:
    """Every change in every service and every refused request, newest first; the window
    is `from <= at < to`."""
    message = pb.ListAuditEventsRequest(
        page_size=page_size, page_token=page_token, actor=actor, type=type
    )
    if since is not None:
        getattr(message, "from").CopyFrom(_timestamp(since))
    if until is not None:
        message.to.CopyFrom(_timestamp(until))
    response = await backends.audit.ListAuditEvents(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return AuditEventPage(
        items=[
            AuditEventOut(
                id=e.id,
                at=e.at.ToDatetime(tzinfo=UTC),
                actor=e.actor,
                actor_kind=e.actor_kind,
                type=e.type,
                target=e.target,
                result=e.result,
                service=e.service,
                summary=e.summary,
            )
            for e in response.events
        ],
        next_page_token=response.next_page_token,
    )
