"""The webhook rules without a store: secrets and their rotation, subscriptions, event types,
message ids, ordering keys, the payload, the signature headers a receiver verifies, and the
answer excerpt."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from services.kit.errors import InvalidArgument
from services.notifications.domain.delivery_schedule import attempts_in_window
from services.notifications.domain.webhooks import (
    ANSWER_EXCERPT_BYTES,
    DELIVERED,
    FAILED,
    PENDING,
    PREVIOUS_SECRET_VALID_FOR,
    SECRET_BYTES,
    Attempt,
    Delivery,
    Endpoint,
    SigningSecrets,
    answer_excerpt,
    checked_description,
    checked_event_types,
    message_id,
    new_secret,
    ordering_key,
    signature_header,
    webhook_payload,
)
from services.notifications.service.delivering import signed_headers, state_after

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OLD = new_secret(bytes(range(SECRET_BYTES)))
NEW = new_secret(bytes(range(1, SECRET_BYTES + 1)))


def an_endpoint(types: tuple[str, ...], *, enabled: bool = True) -> Endpoint:
    return Endpoint(
        "whe_1", "cmp_a", "https://x.example", "", types, SigningSecrets(OLD), enabled, T0
    )


def a_delivery(payload: str = '{"a":1}') -> Delivery:
    return Delivery(
        "dlv_1", "cmp_a", "whe_1", "msg_e1", "number.blocked", T0, payload, None, PENDING, T0, T0
    )


def test_a_secret_is_whsec_and_base64_of_its_bytes():
    assert OLD == "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYX"
    Webhook(OLD)  # the library reads it
    with pytest.raises(ValueError, match="at least"):
        new_secret(b"short")


def test_the_previous_secret_signs_for_a_day_after_a_rotation():
    rotated = SigningSecrets(OLD).rotated(NEW, T0)

    assert SigningSecrets(OLD).valid_at(T0) == (OLD,)
    assert rotated.valid_at(T0) == (NEW, OLD)
    assert rotated.valid_at(T0 + PREVIOUS_SECRET_VALID_FOR - timedelta(seconds=1)) == (NEW, OLD)
    assert rotated.valid_at(T0 + PREVIOUS_SECRET_VALID_FOR) == (NEW,)
    assert OLD not in repr(rotated)


def test_an_endpoint_wants_its_event_types_or_all_while_enabled():
    assert an_endpoint(("*",)).wants("payment.received")
    assert an_endpoint(("number.blocked",)).wants("number.blocked")
    assert not an_endpoint(("number.blocked",)).wants("payment.received")
    assert not an_endpoint(("*",), enabled=False).wants("number.blocked")


def test_event_types_are_public_ones_or_all():
    assert checked_event_types([" number.blocked", "number.blocked", "file.ready"]) == (
        "number.blocked",
        "file.ready",
    )
    assert checked_event_types(["*"]) == ("*",)
    for wrong in ([], ["*", "file.ready"], ["vm.catalog.number.blocked.v1"]):
        with pytest.raises(InvalidArgument):
            checked_event_types(wrong)


def test_a_description_is_trimmed_and_bounded():
    assert checked_description("  CRM  ") == "CRM"
    with pytest.raises(InvalidArgument):
        checked_description("x" * 201)


def test_the_message_id_and_the_ordering_key_come_from_the_event():
    assert message_id("3f2a") == "msg_3f2a"
    assert ordering_key({"msisdn": "79161234567"}) == "79161234567"
    assert ordering_key({"msisdn": ""}) is None
    assert ordering_key({"msisdn": 79161234567}) is None
    assert ordering_key({"amount": 1}) is None


def test_the_payload_is_the_cloudevent_without_our_internals():
    text = webhook_payload(
        event_id="e1",
        event_type="number.blocked",
        source="/services/catalog",
        time=T0,
        subject="79161234567",
        data={"msisdn": "79161234567", "причина": "финансовая"},
    )

    body = json.loads(text)
    assert body == {
        "specversion": "1.0",
        "id": "e1",
        "type": "number.blocked",
        "source": "/services/catalog",
        "time": "2026-03-02T09:00:00Z",
        "datacontenttype": "application/json",
        "subject": "79161234567",
        "data": {"msisdn": "79161234567", "причина": "финансовая"},
    }
    assert "финансовая" in text  # UTF-8, not escapes


def test_every_valid_secret_signs_and_the_receiver_accepts_any():
    sent_at = datetime.now(UTC)
    delivery = a_delivery()

    headers = signed_headers(delivery, (NEW, OLD), sent_at)

    assert headers["webhook-id"] == "msg_e1"
    assert headers["webhook-timestamp"] == str(int(sent_at.timestamp()))
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(NEW).verify(delivery.payload, headers) == {"a": 1}
    assert Webhook(OLD).verify(delivery.payload, headers) == {"a": 1}
    assert signature_header(["v1,a", "v1,b"]) == "v1,a v1,b"


def test_the_answer_excerpt_is_the_first_kilobyte_as_text():
    assert answer_excerpt(b"ok") == "ok"
    assert answer_excerpt(b"x" * 5000) == "x" * ANSWER_EXCERPT_BYTES
    # A two-byte character cut in half at the limit becomes one replacement character.
    assert answer_excerpt(b"x" + "я".encode() * 600) == "x" + "я" * 511 + "\ufffd"
    assert answer_excerpt(b"\xff\xfe") == "\ufffd\ufffd"


def an_attempt(status: int | None, at: datetime) -> Attempt:
    return Attempt(at, status, "" if status else "no answer", 12, "")


def test_after_an_attempt_the_delivery_is_delivered_or_scheduled_or_failed():
    first = a_delivery()
    assert state_after(first, an_attempt(204, T0)) == (DELIVERED, None)
    assert state_after(first, an_attempt(500, T0)) == (PENDING, T0 + timedelta(seconds=5))
    assert state_after(first, an_attempt(None, T0)) == (PENDING, T0 + timedelta(seconds=5))
    # Counted from the series' first attempt, however late this one came.
    third = replace(first, series_started_at=T0, series_attempts=2)
    late = T0 + timedelta(hours=1)
    assert state_after(third, an_attempt(301, late)) == (
        PENDING,
        T0 + timedelta(minutes=2, seconds=35),  # due at once: not pushed back
    )
    last = replace(first, series_started_at=T0, series_attempts=attempts_in_window() - 1)
    assert state_after(last, an_attempt(500, T0 + timedelta(hours=23))) == (FAILED, None)
