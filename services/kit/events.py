"""Events as CloudEvents 1.0 (structured JSON mode) on the topic exchange `vm.events`.

The type is also the routing key: `vm.<service>.<entity>.<past-tense-verb>.v1`. `id` is
unique per event and is what consumers deduplicate on. The company travels as the
`companyid` extension so consumers and the audit log can filter without parsing data.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from google.protobuf import json_format
from google.protobuf.message import Message

from services.kit.context import traceparent_var

EVENT_TYPE = re.compile(r"^vm\.[a-z_]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$")
CONTENT_TYPE = JSONFormat.CONTENT_TYPE
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


def new_event(
    event_type: str,
    payload: Message | dict[str, Any],
    *,
    source: str,
    company_id: str | None = None,
    subject: str | None = None,
) -> Event:
    if not EVENT_TYPE.match(event_type):
        raise ValueError(f"event type {event_type!r} is not vm.<service>.<entity>.<verb>.v<N>")
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
        traceparent=traceparent_var.get() or None,
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
    return _FORMAT.write(CloudEvent(attributes, event.data))


def decode_event(body: bytes) -> Event:
    cloud_event = _FORMAT.read(None, body)
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
    )


def read_payload(event: Event, message_type: type[Message]) -> Any:
    """The event's data as its proto payload type (unknown fields ignored: newer producers)."""
    return json_format.ParseDict(event.data, message_type(), ignore_unknown_fields=True)
