"""A bulk request's change: proto message → the domain's draft action.

The request names its change in the `action` oneof, a field per type of operation. The
deprecated `type` + `params` (a Struct) is read into the same typed message, so both
reach the domain alike; the domain checks the values. Each message's fields are named as
the domain action's fields (and as the old params), so the conversion goes by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format, message_factory, struct_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from services.catalog.domain import bulk as rules
from services.kit.errors import InvalidArgument
from vm.catalog.v1 import bulk_operations_pb2 as pb

ACTION = "action"

# type → its message: each field of the oneof is named as its type.
ACTION_MESSAGES: dict[str, type[Message]] = {
    choice.name: message_factory.GetMessageClass(choice.message_type)
    for choice in pb.StartBulkOperationRequest.DESCRIPTOR.oneofs_by_name[ACTION].fields
}


def requested_action(request: pb.StartBulkOperationRequest) -> rules.BulkChange:
    """The request's change, a draft for the domain to check."""
    chosen = request.WhichOneof(ACTION)
    if chosen is not None:
        if request.type or request.HasField("params"):
            raise InvalidArgument(
                "give either action or the deprecated type and params",
                {"type": "leave type and params empty when action is given"},
            )
        return draft_action(chosen, getattr(request, chosen))
    if request.type:
        return draft_action(request.type, params_message(request.type, request.params))
    raise InvalidArgument("no action given", {ACTION: f"one of: {', '.join(rules.BULK_TYPES)}"})


def draft_action(operation_type: str, message: Message) -> rules.BulkChange:
    fields = {f.name: _plain(getattr(message, f.name)) for f in message.DESCRIPTOR.fields}
    return rules.BULK_CHANGES[operation_type](**fields)


def params_message(operation_type: str, params: struct_pb2.Struct) -> Message:
    """The deprecated params as the type's message: a name the message does not have is
    refused, and a value it cannot hold names its field."""
    rules.check_bulk_type(operation_type)
    message = ACTION_MESSAGES[operation_type]()
    values = json_format.MessageToDict(params)
    unknown = sorted(set(values) - set(message.DESCRIPTOR.fields_by_name))
    if unknown:
        raise InvalidArgument(
            "unknown params",
            {f"params.{name}": "not a parameter of this type" for name in unknown},
        )
    if isinstance(values.get("settings"), Mapping):
        # The params took settings as JSON (true, 300): the message holds them as text.
        values["settings"] = rules.settings_text(values["settings"])
    for name, value in values.items():  # one at a time, so that a refusal names its field
        try:
            json_format.ParseDict({name: value}, message)
        except json_format.ParseError:
            expected = _expected(message.DESCRIPTOR.fields_by_name[name])
            raise InvalidArgument(
                f"params.{name} is not valid", {f"params.{name}": expected}
            ) from None
    return message


def _expected(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return "an object: setting → value"
    if field.cpp_type == FieldDescriptor.CPPTYPE_INT64:
        return "a whole number"
    return "text"


def _plain(value: Any) -> Any:
    """A map field as a dict; a scalar as it is."""
    return dict(value) if isinstance(value, Mapping) else value
