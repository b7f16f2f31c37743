"""Bulk operations' rules: each type's params read into one typed action or refused with
the field at fault; targets; the schedule; progress."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.catalog.domain import bulk
from services.catalog.domain.bulk import (
    ChangeTariff,
    MoveToAccount,
    MoveToNode,
    Progress,
    RemoveBlock,
    RemoveForwarding,
    RemoveLimit,
    SetBlock,
    SetForwarding,
    SetLimit,
    checked_action,
    checked_schedule,
    checked_sms_text,
    checked_targets,
)
from services.kit.errors import InvalidArgument, NotAllowed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("operation_type", "params", "action"),
    [
        (
            "change_tariff",
            {"tariff_id": " biz ", "settings": {"minutes": 300.0, "roaming": True}},
            ChangeTariff("biz", {"minutes": "300", "roaming": "true"}),
        ),
        ("block", {"type": "lost_stolen"}, SetBlock("lost_stolen")),
        ("unblock", {"type": "voluntary"}, RemoveBlock("voluntary")),
        (
            "set_forwarding",
            {"condition": "busy", "target": "8 (495) 123-45-67"},
            SetForwarding("busy", "74951234567"),
        ),
        ("remove_forwarding", {"condition": "no_reply"}, RemoveForwarding("no_reply")),
        (
            "set_limit",
            {"kind": "data", "amount": 50_000, "action": "notify"},
            SetLimit("data", 50_000, "notify"),
        ),
        (
            "set_limit",
            {"kind": "total", "amount": 1000.0, "action": "block"},
            SetLimit("total", 1000, "block"),
        ),
        ("remove_limit", {"kind": "sms"}, RemoveLimit("sms")),
        ("move_to_node", {"node_id": "nod_1"}, MoveToNode("nod_1")),
        ("move_to_account", {"account_id": "acc_1"}, MoveToAccount("acc_1")),
    ],
)
def test_each_type_reads_its_params(operation_type, params, action):
    assert checked_action(operation_type, params) == action


@pytest.mark.parametrize(
    ("operation_type", "params", "field"),
    [
        ("explode", {}, "type"),
        ("sms", {"text": "hi"}, "type"),  # an SMS is its own request, not a bulk type
        ("block", {}, "params.type"),
        ("block", {"type": "bogus"}, "type"),
        ("block", {"type": "voluntary", "colour": "red"}, "params.colour"),
        ("change_tariff", {"tariff_id": ""}, "params.tariff_id"),
        ("change_tariff", {"tariff_id": "t", "settings": ["x"]}, "params.settings"),
        ("set_limit", {"kind": "data", "amount": 10.5, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "data", "amount": 0, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "data", "amount": -5, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "data", "amount": True, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "data", "amount": "100", "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "data", "amount": 10**13, "action": "block"}, "params.amount"),
        ("set_limit", {"kind": "gold", "amount": 100, "action": "block"}, "params.kind"),
        ("set_limit", {"kind": "data", "amount": 100, "action": "shout"}, "params.action"),
        ("set_forwarding", {"condition": "busy", "target": "abc"}, "target"),
        ("set_forwarding", {"condition": "sometimes", "target": "+74951234567"}, "condition"),
        ("move_to_node", {"node_id": "x" * 65}, "params.node_id"),
    ],
)
def test_bad_params_name_the_field(operation_type, params, field):
    with pytest.raises(InvalidArgument) as refused:
        checked_action(operation_type, params)
    assert field in refused.value.fields


def test_a_system_block_is_refused_with_its_reason():
    with pytest.raises(NotAllowed) as refused:
        checked_action("block", {"type": "financial"})
    assert refused.value.reason == "SYSTEM_BLOCK"


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
