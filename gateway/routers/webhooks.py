"""The company's webhook endpoints and their deliveries (notifications' WebhookService).

A delivery is an event of the company POSTed to an endpoint as the Standard Webhooks
specification says (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried with
growing pauses for a day, in order per number. The signing secret is shown once: in the
answer that creates the endpoint and in the one that rotates it.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field, StrictBool

from gateway.deps import Backends, ReplayableMetadata
from gateway.paging import PageSize, PageToken
from gateway.schemas import moment, optional_moment
from gateway.security import CurrentCredential, needs
from services.notifications.domain.webhooks import (
    ALL_EVENTS,
    DESCRIPTION_MAX,
    PUBLIC_EVENT_TYPES,
)
from vm.notifications.v1 import notifications_pb2 as pb
from vm.notifications.v1 import resources_pb2

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
TIMEOUT = 10.0
# A retry is attempted within the call: the receiver has VM_WEBHOOK_TIMEOUT_SECONDS (10 s by
# default) to answer, a whole attempt up to three times that.
RETRY_TIMEOUT = 45.0
MANAGE = needs("webhooks.manage")

if TYPE_CHECKING:  # a closed list known at run time; to the type checker, a string
    EventType = str
else:
    EventType = Literal[tuple(sorted(PUBLIC_EVENT_TYPES | {ALL_EVENTS}))]
DeliveryState = Literal["pending", "succeeded", "failed"]
EndpointId = Annotated[str, Path(min_length=1, max_length=64)]
DeliveryId = Annotated[str, Path(min_length=1, max_length=64)]
# https:// (http:// in development), a host without credentials; the service checks the
# address behind the name too.
URL_PATTERN = r"^https?://[^\s/?#@]+(?:[/?#]\S*)?$"
URL_MAX = 2000


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str
    event_types: list[str] = Field(description="public event types, or `*` for every one")
    enabled: bool
    disabled_reason: str | None = Field(
        description="by the company, or after a day of failed deliveries"
    )
    disabled_at: datetime | None
    failing_since: datetime | None = Field(description="every attempt since then has failed")
    previous_secret_valid_until: datetime | None = Field(
        description="until then the secret before the last rotation signs deliveries too"
    )
    created_at: datetime


class EndpointPage(BaseModel):
    items: list[EndpointOut]
    next_page_token: str = Field(description="empty after the last page")


class EndpointWithSecret(BaseModel):
    endpoint: EndpointOut
    secret: str = Field(description="`whsec_…`, to verify signatures: shown this once")


class AttemptOut(BaseModel):
    at: datetime
    status_code: int | None = Field(description="the answer's HTTP status; none: no answer")
    error: str | None = Field(description="what went wrong without an answer")
    latency_ms: int
    answer: str = Field(description="the first 1 KB of the answer's body")


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    message_id: str = Field(description="the `webhook-id` header, the same at every attempt")
    event_type: str
    event_time: datetime
    state: DeliveryState
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: list[AttemptOut]
    failure: str | None
    payload: str = Field(description="the exact JSON body sent")


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_page_token: str = Field(description="empty after the last page")


class EndpointIn(BaseModel):
    url: str = Field(
        max_length=URL_MAX, pattern=URL_PATTERN, examples=["https://crm.example.ru/hooks/vm"]
    )
    description: str = Field(default="", max_length=DESCRIPTION_MAX, examples=["CRM"])
    event_types: list[EventType] = Field(
        min_length=1, max_length=len(PUBLIC_EVENT_TYPES), examples=[["number.blocked"]]
    )


class EndpointPatch(BaseModel):
    url: str | None = Field(default=None, max_length=URL_MAX, pattern=URL_PATTERN)
    description: str | None = Field(default=None, max_length=DESCRIPTION_MAX)
    event_types: list[EventType] | None = Field(
        default=None, min_length=1, max_length=len(PUBLIC_EVENT_TYPES)
    )
    enabled: StrictBool | None = Field(default=None, description="switch deliveries off and on")


def endpoint_out(e: resources_pb2.WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        id=e.id,
        url=e.url,
        description=e.description,
        event_types=list(e.event_types),
        enabled=e.enabled,
        disabled_reason=e.disabled_reason or None,
        disabled_at=optional_moment(e, "disabled_at"),
        failing_since=optional_moment(e, "failing_since"),
        previous_secret_valid_until=optional_moment(e, "previous_secret_valid_until"),
        created_at=moment(e.created_at),
    )


def delivery_out(d: resources_pb2.WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        endpoint_id=d.endpoint_id,
        message_id=d.message_id,
        event_type=d.event_type,
        event_time=moment(d.event_time),
        state=d.state,
        created_at=moment(d.created_at),
        next_attempt_at=optional_moment(d, "next_attempt_at"),
        attempts=[
            AttemptOut(
                at=moment(a.at),
                status_code=a.status_code or None,
                error=a.error or None,
                latency_ms=a.latency_ms,
                answer=a.answer,
            )
            for a in d.attempts
        ],
        failure=d.failure or None,
        payload=d.payload,
    )


@router.get("", response_model=EndpointPage, openapi_extra=MANAGE)
async def list_webhooks(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> EndpointPage:
    """The company's webhook endpoints (no secrets)."""
    response = await backends.webhooks.ListEndpoints(
        pb.ListEndpointsRequest(page_size=page_size, page_token=page_token),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return EndpointPage(
        items=[endpoint_out(e) for e in response.endpoints],
        next_page_token=response.next_page_token,
    )


@router.post("", status_code=201, response_model=EndpointWithSecret, openapi_extra=MANAGE)
async def create_webhook(
    body: EndpointIn, backends: Backends, metadata: ReplayableMetadata
) -> EndpointWithSecret:
    """A new endpoint for the chosen events, and its signing secret, shown this once."""
    response = await backends.webhooks.CreateEndpoint(
        pb.CreateEndpointRequest(
            url=body.url, description=body.description, event_types=body.event_types
        ),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return EndpointWithSecret(endpoint=endpoint_out(response.endpoint), secret=response.secret)


@router.get("/{endpoint_id}", response_model=EndpointOut, openapi_extra=MANAGE)
async def get_webhook(
    endpoint_id: EndpointId, backends: Backends, credential: CurrentCredential
) -> EndpointOut:
    """One endpoint (no secret)."""
    response = await backends.webhooks.GetEndpoint(
        pb.GetEndpointRequest(endpoint_id=endpoint_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return endpoint_out(response.endpoint)


@router.patch("/{endpoint_id}", response_model=EndpointOut, openapi_extra=MANAGE)
async def update_webhook(
    endpoint_id: EndpointId, body: EndpointPatch, backends: Backends, credential: CurrentCredential
) -> EndpointOut:
    """Change the URL, description or events, or switch the endpoint off and on (switched
    on again, its day of failures starts afresh)."""
    message = pb.UpdateEndpointRequest(endpoint_id=endpoint_id)
    if body.url is not None:
        message.url = body.url
    if body.description is not None:
        message.description = body.description
    if body.event_types is not None:
        message.event_types.event_types.extend(body.event_types)
    if body.enabled is not None:
        message.enabled = body.enabled
    response = await backends.webhooks.UpdateEndpoint(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return endpoint_out(response.endpoint)


@router.delete("/{endpoint_id}", status_code=204, response_class=Response, openapi_extra=MANAGE)
async def delete_webhook(
    endpoint_id: EndpointId, backends: Backends, credential: CurrentCredential
) -> Response:
    """Delete an endpoint; its deliveries not yet made are dropped."""
    await backends.webhooks.DeleteEndpoint(
        pb.DeleteEndpointRequest(endpoint_id=endpoint_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return Response(status_code=204)


@router.post(
    "/{endpoint_id}/rotate-secret", response_model=EndpointWithSecret, openapi_extra=MANAGE
)
async def rotate_webhook_secret(
    endpoint_id: EndpointId, backends: Backends, credential: CurrentCredential
) -> EndpointWithSecret:
    """A new signing secret, shown this once; the one before it signs deliveries too for
    another 24 hours (both signatures are sent), so a receiver can switch without loss."""
    response = await backends.webhooks.RotateSecret(
        pb.RotateSecretRequest(endpoint_id=endpoint_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return EndpointWithSecret(endpoint=endpoint_out(response.endpoint), secret=response.secret)


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryPage, openapi_extra=MANAGE)
async def list_webhook_deliveries(
    endpoint_id: EndpointId,
    backends: Backends,
    credential: CurrentCredential,
    state: DeliveryState | None = None,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> DeliveryPage:
    """The endpoint's deliveries, newest first, each with every attempt."""
    response = await backends.webhooks.ListDeliveries(
        pb.ListDeliveriesRequest(
            endpoint_id=endpoint_id,
            state=state or "",
            page_size=page_size,
            page_token=page_token,
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return DeliveryPage(
        items=[delivery_out(d) for d in response.deliveries],
        next_page_token=response.next_page_token,
    )


@router.post(
    "/{endpoint_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    openapi_extra=MANAGE,
)
async def retry_webhook_delivery(
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    backends: Backends,
    credential: CurrentCredential,
) -> DeliveryOut:
    """Send a delivery again, at once: a new series of attempts; answers with the outcome of
    its first attempt."""
    response = await backends.webhooks.RetryDelivery(
        pb.RetryDeliveryRequest(endpoint_id=endpoint_id, delivery_id=delivery_id),
        metadata=credential.metadata,
        timeout=RETRY_TIMEOUT,
    )
    return delivery_out(response.delivery)


@router.post(
    "/{endpoint_id}/test", status_code=202, response_model=DeliveryOut, openapi_extra=MANAGE
)
async def send_webhook_test_event(
    endpoint_id: EndpointId, backends: Backends, metadata: ReplayableMetadata
) -> DeliveryOut:
    """A `webhook.test` delivery to this endpoint, whatever events it takes; follow it in
    the deliveries."""
    response = await backends.webhooks.SendTestEvent(
        pb.SendTestEventRequest(endpoint_id=endpoint_id),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return delivery_out(response.delivery)
