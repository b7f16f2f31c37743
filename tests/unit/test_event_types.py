"""services/kit/event_types.py: the protos say which message each event type carries, and the
event types the code names are the ones they say."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from services.kit.event_types import (
    EVENT_MODULES,
    EVENT_TYPES,
    event_types_of,
    messages_of,
    payload_type,
)
from services.kit.events import EVENT_TYPE, decode_event, encode_event, new_event, read_payload
from services.kit.settings import SERVICE_NAMES
from vm.billing.events.v1 import events_pb2 as billing_events
from vm.catalog.events.v1 import events_pb2 as catalog_events
from vm.common.v1 import common_pb2

ROOT = Path(__file__).resolve().parents[2]
CODE = ("services", "gateway", "demo")
COMMON_PACKAGE = "vm.common.v1"


def literal_event_types(path: Path) -> set[str]:
    """The plain string literals of a module that are whole event types: not a topic pattern
    (`*`, `#` never match EVENT_TYPE) and not a part of an f-string (its service is filled
    in at run time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in in_fstrings
        and EVENT_TYPE.fullmatch(node.value)
    }


def named_in_code() -> dict[str, set[str]]:
    """Each literal event type of services/, gateway/ and demo/, with the files naming it."""
    named: dict[str, set[str]] = {}
    for folder in CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for event_type in literal_event_types(path):
                named.setdefault(event_type, set()).add(str(path.relative_to(ROOT)))
    return named


def service_of(event_type: str) -> str:
    return event_type.split(".")[1]


def package_of(message_type: type) -> str:
    return message_type.DESCRIPTOR.file.package


def service_event_modules() -> list:
    return [m for m in EVENT_MODULES if m.DESCRIPTOR.package.endswith(".events.v1")]


def parts_of(message_type: type) -> set[str]:
    """Full names of the messages a payload is made of (its fields', all the way down)."""
    parts: set[str] = set()
    pending = [message_type.DESCRIPTOR]
    while pending:
        for field in pending.pop().fields:
            if field.message_type is not None and field.message_type.full_name not in parts:
                parts.add(field.message_type.full_name)
                pending.append(field.message_type)
    return parts


def test_the_code_finds_event_types_to_check():
    # Guards the scan itself: an empty result would pass everything below.
    assert len(named_in_code()) > 40


def test_every_event_type_the_code_names_is_registered():
    unregistered = {
        event_type: sorted(files)
        for event_type, files in named_in_code().items()
        if event_type not in EVENT_TYPES
    }
    assert unregistered == {}, "name them in an (vm.common.v1.event_types) option"


def test_every_registered_type_is_well_formed():
    assert [t for t in EVENT_TYPES if not EVENT_TYPE.fullmatch(t)] == []


def test_a_service_registers_only_its_own_event_types():
    misplaced = sorted(
        f"{event_type} in {package_of(payload_type(event_type))}"
        for event_type in EVENT_TYPES
        if package_of(payload_type(event_type))
        not in (COMMON_PACKAGE, f"vm.{service_of(event_type)}.events.v1")
    )
    assert misplaced == []


def test_every_message_of_the_events_protos_is_a_payload_or_a_part_of_one():
    messages = [m for module in service_event_modules() for m in messages_of(module)]
    payloads = [m for m in messages if event_types_of(m)]
    parts = set().union(*(parts_of(m) for m in payloads))
    idle = [
        m.DESCRIPTOR.full_name
        for m in messages
        if not event_types_of(m) and m.DESCRIPTOR.full_name not in parts
    ]
    assert len(service_event_modules()) == 5
    assert idle == []


def test_each_service_that_runs_operations_tells_them_as_operation_updated():
    told = {service_of(t) for t in event_types_of(common_pb2.OperationUpdated)}
    assert told == {"catalog", "billing", "documents", "notifications"}


def test_every_service_records_a_refused_call_as_request_denied():
    # kit/runtime.py names it vm.<its service>.request.denied.v1, for every service.
    denied = {service_of(t) for t in event_types_of(common_pb2.RequestDenied)}
    assert denied == set(SERVICE_NAMES)


def test_payload_type_answers_the_registered_message():
    assert payload_type("vm.catalog.number.added.v1") is catalog_events.NumberAdded
    assert payload_type("vm.billing.operation.updated.v1") is common_pb2.OperationUpdated


def test_payload_type_of_an_unknown_event_type_is_a_clear_refusal():
    with pytest.raises(
        ValueError, match=re.escape("'vm.catalog.number.eaten.v1' is not registered")
    ):
        payload_type("vm.catalog.number.eaten.v1")


def test_new_event_refuses_a_payload_of_another_type():
    wrong = catalog_events.NumberMoved(company_id="c", msisdn="79001234567")
    with pytest.raises(
        ValueError, match=re.escape("NumberAdded, not vm.catalog.events.v1.NumberMoved")
    ):
        new_event("vm.catalog.number.added.v1", wrong, source="/test")


def test_new_event_refuses_a_proto_payload_of_an_unregistered_type():
    with pytest.raises(ValueError, match="not registered"):
        new_event("vm.catalog.number.eaten.v1", catalog_events.NumberAdded(), source="/test")


def test_new_event_takes_the_registered_payload_and_dicts_as_before():
    added = catalog_events.NumberAdded(company_id="c", msisdn="79001234567")
    assert new_event("vm.catalog.number.added.v1", added, source="/test").data["msisdn"]
    assert new_event("vm.catalog.number.eaten.v1", {"x": 1}, source="/test").data == {"x": 1}


def test_read_payload_reads_the_registered_message_unless_told():
    reached = billing_events.LimitReached(company_id="c", msisdn="79001234567", spent=100)
    event = decode_event(
        encode_event(new_event("vm.billing.limit.reached.v1", reached, source="/t"))
    )
    assert read_payload(event) == reached
    assert read_payload(event, billing_events.LimitReached) == reached


def test_read_payload_refuses_another_message_for_a_registered_type():
    event = new_event("vm.billing.limit.reset.v1", billing_events.LimitReset(), source="/t")
    with pytest.raises(
        ValueError, match=re.escape("LimitReset, not vm.billing.events.v1.LimitReached")
    ):
        read_payload(event, billing_events.LimitReached)


def test_read_payload_of_an_unregistered_type_needs_the_message_named():
    event = new_event("vm.billing.request.refused.v1", {"reason": "no"}, source="/t")
    with pytest.raises(ValueError, match="not registered"):
        read_payload(event)


# --- consumers read what producers write ------------------------------------------------


def _consumer_readings(path: Path) -> list[tuple[str, str]]:
    """(event type, the message its handler names in read_payload) for each handler of a
    consumers module whose event type is a string constant of the module and whose function
    (or a BatchHandler / AppliedAlone of it) calls read_payload(event, <module>.<Message>)."""
    tree = ast.parse(path.read_text())
    constants = {
        node.targets[0].id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }
    reads: dict[str, set[str]] = {}
    wrapped: dict[str, str] = {}  # a variable holding BatchHandler(fn) → fn
    for node in ast.walk(tree):
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef):
            reads[node.name] = {
                call.args[1].attr
                for call in ast.walk(node)
                if isinstance(call, ast.Call)
                and getattr(call.func, "id", "") == "read_payload"
                and len(call.args) == 2
                and isinstance(call.args[1], ast.Attribute)
            }
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and node.value.args
            and isinstance(node.value.args[0], ast.Name)
        ):
            wrapped[node.targets[0].id] = node.value.args[0].id  # type: ignore[attr-defined]

    def handler_of(value: ast.expr) -> str:
        if isinstance(value, ast.Call) and value.args and isinstance(value.args[0], ast.Name):
            return value.args[0].id  # BatchHandler(fn), AppliedAlone(fn)
        name = value.id if isinstance(value, ast.Name) else ""
        return wrapped.get(name, name)

    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Name) and key.id in constants:
                for message in reads.get(handler_of(value), ()):
                    found.append((constants[key.id], message))
    return found


CONSUMER_MODULES = sorted(Path("services").glob("*/consumers.py"))


def test_the_consumers_are_found_with_their_readings():
    readings = [r for path in CONSUMER_MODULES for r in _consumer_readings(path)]
    assert len(readings) >= 10  # the check below looks at something


@pytest.mark.parametrize("path", CONSUMER_MODULES, ids=lambda p: p.parent.name)
def test_each_consumer_reads_an_event_as_the_message_it_is(path):
    # A handler bound to several types may read several messages (one per type); the
    # message each type is must be among them, or the handler reads it as another.
    by_type: dict[str, set[str]] = {}
    for event_type, message in _consumer_readings(path):
        by_type.setdefault(event_type, set()).add(message)
    wrong = {
        event_type: sorted(messages)
        for event_type, messages in by_type.items()
        if event_type in EVENT_TYPES and payload_type(event_type).__name__ not in messages
    }
    assert wrong == {}
