"""Which proto message is the `data` of which event type: the registry the protos state.

Each payload message names the CloudEvent types it is the data of in its
`(vm.common.v1.event_types)` option — the messages of `vm.<service>.events.v1`, and
vm.common.v1's OperationUpdated, which every service that runs operations sends as its own
`vm.<service>.operation.updated.v1`. This reads them from the generated descriptors, so
the proto is the one place the pairing is written; producers and consumers ask here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, ModuleType

from google.protobuf.message import Message

from vm.billing.events.v1 import events_pb2 as billing_events
from vm.catalog.events.v1 import events_pb2 as catalog_events
from vm.common.v1 import common_pb2
from vm.common.v1 import events_pb2 as common_events
from vm.documents.events.v1 import events_pb2 as documents_events
from vm.identity.events.v1 import events_pb2 as identity_events
from vm.tickets.events.v1 import events_pb2 as tickets_events

# The generated modules whose messages may be payloads of events.
EVENT_MODULES: tuple[ModuleType, ...] = (
    catalog_events,
    billing_events,
    identity_events,
    documents_events,
    tickets_events,
    common_pb2,
)


def event_types_of(message_type: type[Message]) -> tuple[str, ...]:
    """The event types the message is the payload of, as its proto declares them (none: it
    is not a payload by itself, e.g. a part of one)."""
    options = message_type.DESCRIPTOR.GetOptions()
    return tuple(options.Extensions[common_events.event_types])


def messages_of(module: ModuleType) -> tuple[type[Message], ...]:
    """The top-level messages a generated module defines."""
    return tuple(getattr(module, name) for name in module.DESCRIPTOR.message_types_by_name)


def _read_registry() -> Mapping[str, type[Message]]:
    payloads: dict[str, type[Message]] = {}
    for module in EVENT_MODULES:
        for message_type in messages_of(module):
            for event_type in event_types_of(message_type):
                # One event type, two payloads: no consumer could know which it reads.
                if event_type in payloads:
                    raise RuntimeError(
                        f"{event_type} is declared the payload of both "
                        f"{payloads[event_type].DESCRIPTOR.full_name} and "
                        f"{message_type.DESCRIPTOR.full_name}"
                    )
                payloads[event_type] = message_type
    return MappingProxyType(payloads)


PAYLOAD_TYPES: Mapping[str, type[Message]] = _read_registry()
EVENT_TYPES: frozenset[str] = frozenset(PAYLOAD_TYPES)


def payload_type(event_type: str) -> type[Message]:
    """The message an event of this type carries as its data."""
    try:
        return PAYLOAD_TYPES[event_type]
    except KeyError:
        raise ValueError(
            f"event type {event_type!r} is not registered: no message of the events protos "
            "declares it in its (vm.common.v1.event_types) option"
        ) from None
