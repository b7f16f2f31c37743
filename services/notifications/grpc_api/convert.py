"""Notifications' domain objects ⇄ proto messages (the webhooks' part)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from services.kit.errors import InvalidArgument
from services.notifications.domain.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    Attempt,
    Delivery,
    Endpoint,
)
from services.notifications.service.webhooks import EndpointChanges
from vm.notifications.v1 import notifications_pb2 as api
from vm.notifications.v1 import resources_pb2 as pb

# A delivery's state as the contract names it ⇄ as the domain does.
STATE_NAMES = {PENDING: "pending", DELIVERED: "succeeded", FAILED: "failed"}
STATES_BY_NAME = {name: state for state, name in STATE_NAMES.items()}


def timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def endpoint_message(endpoint: Endpoint) -> pb.WebhookEndpoint:
    """The endpoint without its secrets: those are shown only when made."""
    return pb.WebhookEndpoint(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=list(endpoint.event_types),
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=timestamp(endpoint.disabled_at),
        created_at=timestamp(endpoint.created_at),
        failing_since=timestamp(endpoint.failing_since),
        previous_secret_valid_until=timestamp(
            endpoint.secrets.previous_valid_until if endpoint.secrets.previous else None
        ),
    )


def attempt_message(attempt: Attempt) -> pb.DeliveryAttempt:
    return pb.DeliveryAttempt(
        at=timestamp(attempt.at),
        status_code=attempt.status_code or 0,
        error=attempt.error,
        latency_ms=attempt.latency_ms,
        answer=attempt.answer,
    )


def delivery_message(delivery: Delivery) -> pb.WebhookDelivery:
    return pb.WebhookDelivery(
        id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        message_id=delivery.message_id,
        event_type=delivery.event_type,
        event_time=timestamp(delivery.event_time),
        state=STATE_NAMES.get(delivery.state, delivery.state),
        created_at=timestamp(delivery.created_at),
        next_attempt_at=timestamp(delivery.next_attempt_at),
        attempts=[attempt_message(a) for a in delivery.attempts],
        failure=delivery.failure,
        payload=delivery.payload,
    )


def state_from(name: str) -> str | None:
    """The domain's state of a filter by state; None (every state) for an empty one."""
    if not name:
        return None
    state = STATES_BY_NAME.get(name.strip().lower())
    if state is None:
        choices = ", ".join(STATES_BY_NAME)
        raise InvalidArgument(
            f"unknown delivery state {name!r}", {"state": f"one of {choices}, or empty for all"}
        )
    return state


def changes_from(request: api.UpdateEndpointRequest) -> EndpointChanges:
    """Only the fields the request sets."""
    return EndpointChanges(
        url=request.url if request.HasField("url") else None,
        description=request.description if request.HasField("description") else None,
        event_types=(
            list(request.event_types.event_types) if request.HasField("event_types") else None
        ),
        enabled=request.enabled if request.HasField("enabled") else None,
    )
