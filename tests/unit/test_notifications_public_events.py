"""Internal events as the companies see them (services/notifications/domain/public_events.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.kit.events import Event
from services.notifications.domain.public_events import (
    CONSUMED_TYPES,
    PUBLIC_TYPE_OF,
    came_from_rule,
    msisdns_of,
    public_event,
)
from services.notifications.domain.webhooks import PUBLIC_EVENT_TYPES


def internal(event_type: str, data: dict, company_id: str | None = "cmp_1") -> Event:
    return Event(
        id="evt-1",
        type=event_type,
        source="vm.test",
        time=datetime(2026, 12, 5, 9, 0, tzinfo=UTC),
        data=data,
        subject="79161234567",
        company_id=company_id,
        actor="usr_1",
        actor_kind="user",
    )


def operation(status: str, single: bool = False) -> dict:
    return {"operation": {"id": "op_1", "status": status, "single": single}, "results": [{}]}


def test_every_public_type_comes_from_one_internal_type_or_the_journal():
    made = set(PUBLIC_TYPE_OF.values()) | {"operation.finished"}
    assert made == PUBLIC_EVENT_TYPES
    assert len(PUBLIC_TYPE_OF) == len(set(PUBLIC_TYPE_OF.values()))
    assert "vm.*.operation.updated.v1" in CONSUMED_TYPES


def test_a_block_keeps_its_id_time_and_data_under_its_public_type():
    event = internal("vm.catalog.number.blocked.v1", {"msisdn": "79161234567"})

    public = public_event(event)

    assert public == replace(event, type="number.blocked")


@pytest.mark.parametrize(
    "event",
    [
        internal("vm.catalog.number.added.v1", {"msisdn": "79161234567"}),
        internal("vm.identity.user.created.v1", {}),
        internal("vm.catalog.number.blocked.v1", {"msisdn": "79161234567"}, company_id=None),
        internal("vm.catalog.operation.updated.v1", operation("OPERATION_STATUS_RUNNING")),
        internal("vm.catalog.operation.updated.v1", operation("OPERATION_STATUS_SUCCEEDED", True)),
        internal("vm.catalog.operation.updated.v1", {"operation": "not a map"}),
        internal("vm.catalog.operation.updated.v2", operation("OPERATION_STATUS_SUCCEEDED")),
    ],
)
def test_internal_unfinished_single_and_companyless_events_are_not_public(event):
    assert public_event(event) is None


@pytest.mark.parametrize(
    "status",
    [
        "OPERATION_STATUS_SUCCEEDED",
        "OPERATION_STATUS_FAILED",
        "OPERATION_STATUS_PARTIALLY_FAILED",
        "OPERATION_STATUS_CANCELLED",
    ],
)
def test_an_operations_last_update_of_any_service_is_operation_finished(status):
    event = internal("vm.documents.operation.updated.v1", operation(status))

    public = public_event(event)

    assert public is not None and public.type == "operation.finished"
    assert public.data == {"operation": {"id": "op_1", "status": status, "single": False}}


def test_the_numbers_an_event_concerns():
    assert msisdns_of(internal("number.blocked", {"msisdn": "79161234567"})) == ("79161234567",)
    account = internal("account.balance_exhausted", {"msisdns": ["79161", "79162", "79161", 5]})
    assert msisdns_of(account) == ("79161", "79162")
    assert msisdns_of(internal("transfer.completed", {"amount": 1})) == ()


def test_only_a_rules_own_actions_say_they_came_from_a_rule():
    event = internal("vm.catalog.number.blocked.v1", {})
    assert not came_from_rule(event)
    assert came_from_rule(replace(event, actor_kind="rule"))
