"""Events as CloudEvents 1.0 (structured JSON mode) on the topic exchange `vm.events`.

The type is also the routing key: `vm.<service>.<entity>.<past-tense-verb>.v1`. `id` is
unique per event and is what consumers deduplicate on. The company travels as the
`companyid` extension so consumers and the audit log can filter without parsing data; the
trace of the call that wrote it as `traceparent` (the distributed tracing extension), which
the relay publishes within and consumers continue (services/kit/tracing.py). Which proto
message an event's data is, is registered in the protos (services/kit/event_types.py).

A run of events of one type written together (a bulk batch's `number.blocked` for each
of its numbers) travels as one message in the CloudEvents JSON batch format
(`application/cloudevents-batch+json`: an array of structured events), under that type's
routing key; the consumer takes it apart into the same events.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from google.protobuf import json_format
from google.protobuf.message import Message

from services.kit.context import caller_var
from services.kit.event_types import EVENT_TYPES, payload_type
from services.kit.tracing import current_traceparent

EVENT_TYPE = re.compile(r"^vm\.[a-z_]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$")
CONTENT_TYPE = JSONFormat.CONTENT_TYPE
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
_FORMAT = JSONFormat()


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    source: str
    time: datetime
    data: dict[str, Any]
    subject: str | None = None
    company_id: str | None = None
    traceparent: str | None = None
    # Who caused it (extensions `actorid`, `actorkind`): a user id with kind "user" (or
    # "rule": the user's automation rule acting with their rights), "operator", "anonymous"
    # (a public call), or "system" (no call: consumers, schedulers).
    actor: str | None = None
    actor_kind: str | None = None


def current_actor() -> tuple[str, str]:
    """(actor, kind) of the current call. The server sets the caller on every call, even
    an anonymous one, so a context without a caller is the system's own work."""
    caller = caller_var.get(None)
    if caller is None:
        return "system", "system"
    return caller.user_id or caller.kind, caller.actor_kind


def new_event(
    event_type: str,
    payload: Message | dict[str, Any],
    *,
    source: str,
    company_id: str | None = None,
    subject: str | None = None,
) -> Event:
    if not EVENT_TYPE.fullmatch(event_type):
        raise ValueError(f"event type {event_type!r} is not vm.<service>.<entity>.<verb>.v<N>")
    if isinstance(payload, Message):
        _require_registered_payload(event_type, type(payload))
    actor, actor_kind = current_actor()
    data = (
        json_format.MessageToDict(payload, preserving_proto_field_name=True)
        if isinstance(payload, Message)
        else dict(payload)
    )
    return Event(
        id=str(uuid.uuid4()),
        type=event_type,
        source=source,
        time=datetime.now(UTC),
        data=data,
        subject=subject,
        company_id=company_id,
        traceparent=current_traceparent(),
        actor=actor,
        actor_kind=actor_kind,
    )


def _require_registered_payload(event_type: str, message_type: type[Message]) -> None:
    """Consumers read the data as the registered message: another one would parse into
    empty or wrong fields there, so it is refused where it is made."""
    expected = payload_type(event_type)
    if message_type.DESCRIPTOR.full_name != expected.DESCRIPTOR.full_name:
        raise ValueError(
            f"the data of {event_type} is {expected.DESCRIPTOR.full_name}, "
            f"not {message_type.DESCRIPTOR.full_name}"
        )


def encode_event(event: Event) -> bytes:
    attributes: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "specversion": "1.0",
        "time": event.time,
        "datacontenttype": "application/json",
    }
    if event.subject:
        attributes["subject"] = event.subject
    if event.company_id:
        attributes["companyid"] = event.company_id
    if event.traceparent:
        attributes["traceparent"] = event.traceparent
    if event.actor:
        attributes["actorid"] = event.actor
    if event.actor_kind:
        attributes["actorkind"] = event.actor_kind
    return _FORMAT.write(CloudEvent(attributes, event.data))


def encode_batch(events: Sequence[Event]) -> bytes:
    """Events in the CloudEvents JSON batch format: each one as `encode_event` writes it."""
    return b"[" + b",".join(encode_event(event) for event in events) + b"]"


def _cloud_event(attributes: dict[str, Any], data: Any) -> CloudEvent:
    # The SDK would invent a fresh id for an event without one; consumers dedupe on the
    # id, so such a message would be applied again on every redelivery. Refuse it.
    if not attributes.get("id"):
        raise ValueError("a CloudEvent must have an id")
    return CloudEvent(attributes, data)


def decode_event(body: bytes) -> Event:
    cloud_event = _FORMAT.read(_cloud_event, body)
    attributes = cloud_event.get_attributes()
    data = cloud_event.get_data()
    return Event(
        id=cloud_event.get_id(),
        type=cloud_event.get_type(),
        source=cloud_event.get_source(),
        time=cloud_event.get_time() or datetime.now(UTC),
        data=data if isinstance(data, dict) else {},
        subject=cloud_event.get_subject(),
        company_id=attributes.get("companyid"),
        traceparent=attributes.get("traceparent"),
        actor=attributes.get("actorid"),
        actor_kind=attributes.get("actorkind"),
    )


def decode_batch(body: bytes) -> list[Event]:
    """The events of a CloudEvents JSON batch; ValueError unless each is a CloudEvent."""
    try:
        items = json.loads(body)
        if not isinstance(items, list) or not items:
            raise ValueError("it is not a non-empty JSON array")
        return [decode_event(json.dumps(item).encode()) for item in items]
    except Exception as error:  # the SDK's own errors too: one answer for a bad batch
        raise ValueError(f"not a CloudEvents batch: {error}") from error


def read_payload(event: Event, message_type: type[Message] | None = None) -> Any:
    """The event's data as its proto payload type (unknown fields ignored: newer producers):
    the registered one unless told. Told another for a registered type is a consumer's
    mistake, refused rather than read as empty fields."""
    if message_type is None:
        message_type = payload_type(event.type)
    elif event.type in EVENT_TYPES:
        _require_registered_payload(event.type, message_type)
    return json_format.ParseDict(event.data, message_type(), ignore_unknown_fields=True)
