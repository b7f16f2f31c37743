"""services/kit/events.py: who caused an event travels in its envelope (`actorid`,
`actorkind`), taken from the current caller, and comes back out of the wire form."""

from __future__ import annotations

import contextvars
import json

import pytest

from services.kit.context import ANONYMOUS, Caller, caller_var
from services.kit.events import Event, decode_event, encode_event, new_event

HAPPENED = "vm.test.thing.happened.v1"


def made_by(caller: Caller | None) -> Event:
    """A new event made in a fresh context: with `caller` set, or with none at all."""

    def make() -> Event:
        if caller is not None:
            caller_var.set(caller)
        return new_event(HAPPENED, {"n": 1}, source="/test", company_id="cmp_1")

    return contextvars.Context().run(make)


@pytest.mark.parametrize(
    ("caller", "actor", "kind"),
    [
        (Caller(kind="user", company_id="cmp_1", user_id="usr_7"), "usr_7", "user"),
        (Caller(kind="api_key", company_id="cmp_1", user_id="key_3"), "key_3", "api_key"),
        (Caller(kind="operator"), "operator", "operator"),
        (ANONYMOUS, "anonymous", "anonymous"),
        (None, "system", "system"),
    ],
    ids=["user", "api_key", "operator", "anonymous", "system"],
)
def test_the_actor_is_the_current_caller_and_survives_the_wire(caller, actor, kind):
    event = made_by(caller)

    decoded = decode_event(encode_event(event))

    assert (event.actor, event.actor_kind) == (actor, kind)
    assert (decoded.actor, decoded.actor_kind) == (actor, kind)


def test_the_actor_is_a_cloudevents_extension_attribute():
    event = made_by(Caller(kind="user", company_id="cmp_1", user_id="usr_7"))

    wire = json.loads(encode_event(event))

    assert wire["actorid"] == "usr_7"
    assert wire["actorkind"] == "user"
    assert "actor" not in wire["data"]


def test_an_event_of_a_producer_that_names_no_actor_is_still_read():
    body = json.dumps(
        {
            "specversion": "1.0",
            "id": "evt-1",
            "type": HAPPENED,
            "source": "/elsewhere",
            "datacontenttype": "application/json",
            "data": {"n": 1},
        }
    ).encode()

    event = decode_event(body)

    assert (event.actor, event.actor_kind) == (None, None)


def test_code_that_builds_an_event_without_an_actor_keeps_working():
    event = Event(id="e", type=HAPPENED, source="/test", time=made_by(None).time, data={})

    decoded = decode_event(encode_event(event))

    assert (decoded.actor, decoded.actor_kind) == (None, None)
