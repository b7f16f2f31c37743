"""Webhooks' domain objects ⇄ proto messages: the contract's names of delivery states,
only the fields a change sets, and no secret in an endpoint's message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.kit.errors import InvalidArgument
from services.notifications.domain.webhooks import (
    DELIVERED,
    FAILED,
    PENDING,
    Attempt,
    Delivery,
    Endpoint,
    SigningSecrets,
)
from services.notifications.grpc_api.convert import (
    changes_from,
    delivery_message,
    endpoint_message,
    state_from,
)
from services.notifications.service.webhooks import EndpointChanges
from vm.notifications.v1 import notifications_pb2 as api

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET, OLD_SECRET = "whsec_" + "A" * 32, "whsec_" + "B" * 32


def an_endpoint(secrets: SigningSecrets | None = None) -> Endpoint:
    return Endpoint(
        id="whe_1",
        company_id="cmp_a",
        url="https://hooks.example.com/vm",
        description="CRM",
        event_types=("number.blocked",),
        secrets=secrets or SigningSecrets(SECRET),
        enabled=True,
        created_at=T0,
    )


def a_delivery(state: str, attempts: tuple[Attempt, ...] = ()) -> Delivery:
    return Delivery(
        id="dlv_1",
        company_id="cmp_a",
        endpoint_id="whe_1",
        message_id="msg_e1",
        event_type="number.blocked",
        event_time=T0,
        payload='{"id":"e1"}',
        ordering_key=None,
        state=state,
        created_at=T0,
        next_attempt_at=None,
        attempts=attempts,
    )


@pytest.mark.parametrize(
    ("state", "name"), [(PENDING, "pending"), (DELIVERED, "succeeded"), (FAILED, "failed")]
)
def test_a_delivery_state_has_the_contracts_name_both_ways(state, name):
    assert delivery_message(a_delivery(state)).state == name
    assert state_from(name) == state
    assert state_from(name.upper()) == state


def test_no_state_filters_nothing_and_an_unknown_one_is_invalid():
    assert state_from("") is None
    with pytest.raises(InvalidArgument) as raised:
        state_from("delivered")
    assert "state" in raised.value.fields


def test_an_attempt_without_an_answer_has_status_zero():
    attempts = (
        Attempt(T0, None, "no answer within 10 s", 10_000, ""),
        Attempt(T0 + timedelta(seconds=5), 200, "", 12, "ok"),
    )
    message = delivery_message(a_delivery(DELIVERED, attempts))
    assert [(a.status_code, a.error) for a in message.attempts] == [
        (0, "no answer within 10 s"),
        (200, ""),
    ]
    assert message.payload == '{"id":"e1"}'
    assert not message.HasField("next_attempt_at")


def test_an_endpoint_message_shows_no_secret():
    message = endpoint_message(an_endpoint())
    assert SECRET not in str(message)
    assert not message.HasField("previous_secret_valid_until")
    assert not message.HasField("disabled_at")


def test_after_a_rotation_the_message_says_until_when_the_old_secret_signs():
    rotated = SigningSecrets(OLD_SECRET).rotated(SECRET, T0)
    message = endpoint_message(an_endpoint(rotated))
    assert message.previous_secret_valid_until.ToDatetime(UTC) == T0 + timedelta(hours=24)
    assert OLD_SECRET not in str(message) and SECRET not in str(message)


def test_only_the_fields_a_change_sets_change():
    assert changes_from(api.UpdateEndpointRequest(endpoint_id="whe_1")) == EndpointChanges()
    request = api.UpdateEndpointRequest(
        endpoint_id="whe_1",
        description="",
        event_types=api.EventTypes(event_types=[]),
        enabled=False,
    )
    assert changes_from(request) == EndpointChanges(
        url=None, description="", event_types=[], enabled=False
    )
