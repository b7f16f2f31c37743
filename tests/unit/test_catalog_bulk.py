"""Bulk operations' rules: each typed action checked or refused with the field at fault,
stored operations read back (those stored before the typed request too); targets; the
schedule; progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.catalog.domain import bulk
from services.catalog.domain.bulk import (
    ChangeTariff,
    ConnectService,
    DisconnectService,
    MoveToAccount,
    MoveToNode,
    Progress,
    RemoveBlock,
    RemoveForwarding,
    RemoveLimit,
    SendSms,
    SetBlock,
    SetForwarding,
    SetLimit,
    checked_action,
    checked_schedule,
    checked_sms_text,
    checked_targets,
    stored_action,
)
from services.kit.errors import InvalidArgument, NotAllowed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("draft", "action"),
    [
        (ChangeTariff(" biz ", {"minutes": "300"}), ChangeTariff("biz", {"minutes": "300"})),
        (ConnectService(" svc_1 "), ConnectService("svc_1")),
        (DisconnectService("svc_1"), DisconnectService("svc_1")),
        (SetBlock(" lost_stolen "), SetBlock("lost_stolen")),
        (RemoveBlock("voluntary"), RemoveBlock("voluntary")),
        (SetForwarding("busy", "8 (495) 123-45-67"), SetForwarding("busy", "74951234567")),
        (RemoveForwarding("no_reply"), RemoveForwarding("no_reply")),
        (SetLimit(" data ", 50_000, "notify"), SetLimit("data", 50_000, "notify")),
        (RemoveLimit("sms"), RemoveLimit("sms")),
        (MoveToNode("nod_1"), MoveToNode("nod_1")),
        (MoveToAccount("acc_1"), MoveToAccount("acc_1")),
        (SendSms("  Привет  "), SendSms("Привет")),
    ],
)
def test_each_action_is_checked_trimmed_and_normalised(draft, action):
    assert checked_action(draft) == action


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        (SetBlock(""), "params.type"),
        (SetBlock("bogus"), "type"),
        (ChangeTariff("  "), "params.tariff_id"),
        (ConnectService("x" * 65), "params.service_id"),
        (SetLimit("data", 0, "block"), "params.amount"),
        (SetLimit("data", -5, "block"), "params.amount"),
        (SetLimit("data", bulk.LIMIT_AMOUNT_MAX + 1, "block"), "params.amount"),
        (SetLimit("gold", 100, "block"), "params.kind"),
        (SetLimit("data", 100, "shout"), "params.action"),
        (RemoveLimit(""), "params.kind"),
        (SetForwarding("busy", "abc"), "target"),
        (SetForwarding("sometimes", "+74951234567"), "condition"),
        (SetForwarding("busy", ""), "params.target"),
        (RemoveForwarding(""), "params.condition"),
        (MoveToNode("x" * 65), "params.node_id"),
        (MoveToAccount(" "), "params.account_id"),
        (SendSms(" "), "text"),
    ],
)
def test_a_bad_action_names_the_field(draft, field):
    with pytest.raises(InvalidArgument) as refused:
        checked_action(draft)
    assert field in refused.value.fields


def test_a_system_block_is_refused_with_its_reason():
    with pytest.raises(NotAllowed) as refused:
        checked_action(SetBlock("financial"))
    assert refused.value.reason == "SYSTEM_BLOCK"


def test_an_action_is_stored_by_its_type_and_fields_and_read_back():
    for action in (
        ChangeTariff("biz", {"roaming": "true"}),
        SetBlock("voluntary"),
        SetLimit("data", 50_000, "notify"),
        SendSms("Привет"),
    ):
        stored = bulk.action_params(action)
        assert stored_action(action.operation_type, stored) == action
    assert bulk.action_params(SetBlock("voluntary")) == {"type": "voluntary"}


@pytest.mark.parametrize(
    ("operation_type", "params", "action"),
    [
        # Stored before the typed request: the request's JSON as it came.
        (
            "change_tariff",
            {"tariff_id": " biz ", "settings": {"minutes": 300.0, "roaming": True, "x": "y"}},
            ChangeTariff("biz", {"minutes": "300", "roaming": "true", "x": "y"}),
        ),
        ("change_tariff", {"tariff_id": "biz"}, ChangeTariff("biz")),
        (
            "set_limit",
            {"kind": "total", "amount": 1000.0, "action": "block"},
            SetLimit("total", 1000, "block"),
        ),
        ("block", {"type": "lost_stolen"}, SetBlock("lost_stolen")),
        (
            "set_forwarding",
            {"condition": "busy", "target": "8 (495) 123-45-67"},
            SetForwarding("busy", "74951234567"),
        ),
        ("sms", {"text": "Привет"}, SendSms("Привет")),
    ],
)
def test_an_operation_stored_before_the_typed_request_is_still_read(operation_type, params, action):
    assert stored_action(operation_type, params) == action


def test_an_unknown_stored_type_names_the_type():
    with pytest.raises(InvalidArgument) as refused:
        stored_action("explode", {})
    assert "type" in refused.value.fields


def test_every_bulk_type_has_its_action():
    assert set(bulk.BULK_CHANGES) == set(bulk.PERMISSIONS) - {bulk.SMS}
    for operation_type, change in bulk.BULK_CHANGES.items():
        assert change.operation_type == operation_type


def test_targets_are_a_list_or_a_node_never_both_never_none():
    assert checked_targets(["+7 (916) 123-45-67", "79161234567"], "").msisdns == ("79161234567",)
    assert checked_targets([], " nod_1 ").node_id == "nod_1"
    for msisdns, node in ((["79161234567"], "nod_1"), ([], ""), (["12345"], "")):
        with pytest.raises(InvalidArgument):
            checked_targets(msisdns, node)


def test_the_schedule_runs_now_when_past_and_refuses_far_ahead():
    assert checked_schedule(None, NOW) is None
    assert checked_schedule(NOW - timedelta(minutes=1), NOW) is None
    assert checked_schedule(NOW + timedelta(hours=2), NOW) == NOW + timedelta(hours=2)
    naive = datetime(2026, 11, 26, 9, 0)
    assert checked_schedule(naive, NOW) == naive.replace(tzinfo=UTC)
    # a rule of now, not a malformed moment: 409 `not_allowed` (it was 422)
    with pytest.raises(NotAllowed):
        checked_schedule(NOW + bulk.SCHEDULE_AHEAD_MAX + timedelta(seconds=1), NOW)


def test_an_sms_text_is_trimmed_and_bounded():
    assert checked_sms_text("  Привет  ").text == "Привет"
    for text in ("", "   ", "я" * (bulk.SMS_TEXT_MAX + 1)):
        with pytest.raises(InvalidArgument):
            checked_sms_text(text)


def test_progress_is_a_whole_percentage():
    assert Progress(3, 1, 0).percent == 33
    assert Progress(3, 3, 1).percent == 100
    assert Progress(0, 0, 0).percent == 0


def test_every_type_needs_a_permission_and_has_a_title():
    assert set(bulk.PERMISSIONS) == set(bulk.TITLES)
    assert bulk.permission_for("set_limit") == "numbers.limits"
    assert bulk.permission_for("sms") == "numbers.sms"
