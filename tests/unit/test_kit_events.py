"""services/kit/events.py: CloudEvents 1.0 in structured JSON mode."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from services.kit.events import (
    CONTENT_TYPE,
    Event,
    decode_event,
    encode_event,
    new_event,
    read_payload,
)
from services.kit.tracing import within
from vm.identity.events.v1 import events_pb2

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    "event_type",
    [
        "vm.identity.company.created.v1",
        "vm.billing.account.balance_exhausted.v1",
        "vm.catalog.number.tariff_changed.v12",
    ],
)
def test_well_formed_types_are_accepted(event_type):
    assert new_event(event_type, {}, source="/test").type == event_type


@pytest.mark.parametrize(
    "event_type",
    [
        "",
        "identity.company.created.v1",
        "vm.identity.company.created",
        "vm.identity.company.created.1",
        "vm.identity.company.created.v",
        "vm.identity.created.v1",
        "vm.identity.company.created.extra.v1",
        "vm.Identity.company.created.v1",
        "vm.identity.company-x.created.v1",
        "vm.identity.company.created.v1.",
        "vm.identity.*.created.v1",
        "vm.identity.#.v1",
        " vm.identity.company.created.v1",
        "vm.identity.company.created.v1 ",
        "vm.identity.company.created.v1\n",
        "vm.identity.company.created.V1",
    ],
)
def test_malformed_types_are_refused(event_type):
    with pytest.raises(ValueError, match="is not vm"):
        new_event(event_type, {}, source="/test")


def test_a_new_event_has_a_fresh_uuid_and_the_time_in_utc():
    before = datetime.now(UTC)
    first = new_event("vm.test.thing.happened.v1", {"a": 1}, source="/test")
    second = new_event("vm.test.thing.happened.v1", {"a": 1}, source="/test")

    assert first.id != second.id
    assert uuid.UUID(first.id).version == 4
    assert first.time.tzinfo is not None
    assert before <= first.time <= datetime.now(UTC)


def test_a_proto_payload_becomes_json_data_with_proto_field_names():
    payload = events_pb2.UserCreated(
        company_id="cmp_1", user_id="usr_1", login="79161234567", role_ids=["a", "b"]
    )

    event = new_event("vm.identity.user.created.v1", payload, source="/identity")

    assert event.data == {
        "company_id": "cmp_1",
        "user_id": "usr_1",
        "login": "79161234567",
        "role_ids": ["a", "b"],
    }


def test_a_dict_payload_is_copied():
    payload = {"n": 1}
    event = new_event("vm.test.thing.happened.v1", payload, source="/test")
    payload["n"] = 2
    assert event.data == {"n": 1}


def test_the_current_traceparent_travels_with_the_event():
    with within(TRACEPARENT):
        traced = new_event("vm.test.thing.happened.v1", {}, source="/test")
    untraced = new_event("vm.test.thing.happened.v1", {}, source="/test")

    assert traced.traceparent == TRACEPARENT
    assert untraced.traceparent is None


def test_encode_then_decode_keeps_every_attribute_and_the_data():
    with within(TRACEPARENT):
        event = new_event(
            "vm.identity.company.created.v1",
            {"name": 'ООО "Ромашка"', "count": 3, "nested": {"list": [1, "two", None]}},
            source="/identity",
            company_id="cmp_42",
            subject="cmp_42",
        )

    decoded = decode_event(encode_event(event))

    assert decoded.id == event.id
    assert decoded.type == event.type
    assert decoded.source == "/identity"
    assert decoded.company_id == "cmp_42"
    assert decoded.subject == "cmp_42"
    assert decoded.traceparent == TRACEPARENT
    assert decoded.data == event.data
    assert decoded.time == event.time


def test_the_wire_form_is_a_structured_cloudevent():
    event = new_event(
        "vm.identity.company.created.v1", {"k": "v"}, source="/identity", company_id="cmp_1"
    )

    wire = json.loads(encode_event(event))

    assert CONTENT_TYPE.startswith("application/cloudevents+json")
    assert wire["specversion"] == "1.0"
    assert wire["id"] == event.id
    assert wire["type"] == "vm.identity.company.created.v1"
    assert wire["source"] == "/identity"
    assert wire["companyid"] == "cmp_1"
    assert wire["datacontenttype"] == "application/json"
    assert wire["data"] == {"k": "v"}
    assert "traceparent" not in wire and "subject" not in wire


def test_optional_attributes_stay_absent_after_a_round_trip():
    event = new_event("vm.test.thing.happened.v1", {"x": 1}, source="/test")

    decoded = decode_event(encode_event(event))

    assert (decoded.company_id, decoded.subject, decoded.traceparent) == (None, None, None)


def test_an_event_written_by_another_producer_is_read():
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": "evt-1",
            "type": "vm.identity.company.created.v1",
            "source": "/elsewhere",
            "time": "2025-01-02T03:04:05Z",
            "datacontenttype": "application/json",
            "companyid": "cmp_9",
            "data": {"company_id": "cmp_9"},
        }
    ).encode()

    event = decode_event(body)

    assert (event.id, event.company_id, event.data) == ("evt-1", "cmp_9", {"company_id": "cmp_9"})
    assert event.time == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"specversion": "1.0"}',
        b'{"specversion": "1.0", "type": "vm.a.b.c.v1", "source": "/s"}',
    ],
)
def test_what_is_not_a_cloudevent_is_refused(body):
    with pytest.raises(Exception):  # noqa: PT011 - any failure: the consumer dead-letters it
        decode_event(body)


def test_an_event_without_an_id_is_refused_rather_than_given_a_new_one():
    # Consumers dedupe on the id: an invented one would differ on every redelivery.
    body = json.dumps(
        {"specversion": "1.0", "type": "vm.test.thing.happened.v1", "source": "/s", "data": {}}
    ).encode()

    with pytest.raises(ValueError, match="id"):
        decode_event(body)


def test_read_payload_gives_the_proto_and_ignores_fields_it_does_not_know():
    produced = events_pb2.CompanyCreated(
        company_id="cmp_1", name="Ромашка", inn="7701234560", main_number="79161234567"
    )
    event = new_event("vm.identity.company.created.v1", produced, source="/identity")
    newer = Event(
        id=event.id,
        type=event.type,
        source=event.source,
        time=event.time,
        data={**event.data, "field_from_a_newer_producer": "ignored"},
    )

    read = read_payload(decode_event(encode_event(newer)), events_pb2.CompanyCreated)

    assert isinstance(read, events_pb2.CompanyCreated)
    assert read == produced
