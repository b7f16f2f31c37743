"""services/notifications/domain/rules.py: what an automation rule may be, what its actions
need of its owner, which facts its condition reads, and how a run ends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kit.authz import Access
from services.kit.errors import InvalidArgument, PermissionDenied
from services.notifications.domain import rules
from services.notifications.domain.conditions import holds
from services.notifications.domain.rules import (
    BlockNumbers,
    CallWebhook,
    OpenTicket,
    RuleDraft,
    SendEmail,
    SendSms,
    SetLimit,
    TargetResult,
    UnblockNumbers,
)
from services.notifications.domain.webhooks import PUBLIC_EVENT_TYPES

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
BLOCK = BlockNumbers("voluntary")
MAIL = SendEmail((), ("boss@example.com",), "Лимит", "Номер заблокирован")
EVERY_KIND = (
    BLOCK,
    UnblockNumbers("lost_stolen"),
    SetLimit("total", 100_000, "block"),
    SendSms((), ("+7 (916) 123-45-67",), "Лимит достигнут"),
    MAIL,
    CallWebhook("whe_1"),
    OpenTicket("technical", "Лимит", "Проверьте номер"),
)


def draft(**overrides) -> RuleDraft:
    fields = {
        "name": "Лимит в Москве",
        "trigger": "limit.reached",
        "condition": 'node within "nod_msk" and spent >= 500000',
        "actions": (BLOCK, MAIL),
    }
    return RuleDraft(**{**fields, **overrides})


def made(**overrides) -> rules.AutomationRule:
    return rules.new_rule(
        draft(**overrides), rule_id="rul_1", company_id="cmp_1", owner_id="usr_1", now=NOW
    )


def problems(**overrides) -> dict[str, str]:
    with pytest.raises(InvalidArgument) as raised:
        made(**overrides)
    return raised.value.fields


# ---------------------------------------------------------------- what a rule may be


def test_a_valid_rule_keeps_its_canonical_condition_and_its_owner():
    rule = made(condition='  node   within "nod_msk"  and spent>=500000 ')
    assert rule.condition == 'node within "nod_msk" and spent >= 500000'
    assert (rule.owner_id, rule.enabled, rule.paused_reason) == ("usr_1", True, "")
    assert rule.is_active


def test_every_kind_of_action_is_accepted_and_recipients_are_normalised():
    rule = made(actions=EVERY_KIND)
    sms = rule.actions[3]
    assert isinstance(sms, SendSms) and sms.msisdns == ("79161234567",)


def test_an_empty_condition_means_always():
    assert made(condition="   ").condition == ""
    assert made(condition="").parsed_condition is None


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"trigger": "number.added"}, "trigger"),
        ({"trigger": "vm.billing.limit.reached.v1"}, "trigger"),
        ({"condition": "spent >="}, "condition"),
        ({"condition": "balance > 5"}, "condition"),  # not a field of limit.reached
        ({"actions": ()}, "actions"),
        ({"actions": (BLOCK,) * 11}, "actions"),
    ],
)
def test_a_wrong_part_is_named(overrides, field):
    assert field in problems(**overrides)


def test_every_wrong_part_is_named_at_once():
    found = problems(name="", trigger="nope", actions=(BlockNumbers("financial"),))
    assert {"name", "trigger", "actions[0].type"} <= set(found)


def test_a_condition_field_of_another_trigger_is_refused_with_a_hint():
    found = problems(trigger="payment.received", condition="spent > 1")
    assert "condition" in found


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (BlockNumbers("financial"), "type"),  # the system's own block
        (UnblockNumbers("limit"), "type"),
        (SetLimit("minutes", 100, "block"), "kind"),
        (SetLimit("total", 0, "block"), "amount"),
        (SetLimit("total", -5, "notify"), "amount"),
        (SetLimit("total", 100, "shout"), "action"),
        (SendSms((), (), "text"), "recipients"),
        (SendSms((), ("12345",), "text"), "msisdns"),
        (SendSms((), ("79161234567",), " "), "text"),
        (SendSms((), ("79161234567",), "я" * 671), "text"),
        (SendSms((), tuple(f"7916123{n:04d}" for n in range(21)), "t"), "msisdns"),
        (SendEmail((), (), "s", "t"), "recipients"),
        (SendEmail((), ("not-an-address",), "s", "t"), "addresses"),
        (SendEmail(("",), (), "s", "t"), "user_ids"),
        (SendEmail((), ("a@b.ru",), "", "t"), "subject"),
        (SendEmail((), ("a@b.ru",), "s", "t" * 5001), "text"),
        (CallWebhook("  "), "endpoint_id"),
        (OpenTicket("complaint", "s", "t"), "category"),
        (OpenTicket("other", "s" * 201, "t"), "subject"),
    ],
)
def test_a_wrong_action_is_refused_naming_its_field(action, field):
    with pytest.raises(InvalidArgument) as raised:
        rules.checked_action(action)
    assert field in raised.value.fields


@given(st.sampled_from(EVERY_KIND))
def test_checking_an_action_twice_changes_nothing_more(action):
    once = rules.checked_action(action)
    assert rules.checked_action(once) == once


# ---------------------------------------------------------------- the owner's rights


@pytest.mark.parametrize(
    ("action", "permission"),
    [
        (BLOCK, "numbers.blocks"),
        (UnblockNumbers("voluntary"), "numbers.blocks"),
        (SetLimit("total", 1, "notify"), "numbers.limits"),
        (SendSms((), ("79161234567",), "t"), "numbers.sms"),
        (CallWebhook("whe_1"), "webhooks.manage"),
        (OpenTicket("other", "s", "t"), "tickets.manage"),
        (MAIL, None),
    ],
)
def test_each_action_needs_its_permission(action, permission):
    assert rules.permission_of(action) == permission
    expected = {rules.MANAGE} | ({permission} if permission else set())
    assert rules.permissions_needed([action]) == expected


def test_an_e_mail_to_people_needs_nothing_beyond_owning_the_rule():
    assert rules.missing_permissions([MAIL], {"automation.manage"}) == ()
    assert rules.missing_permissions([MAIL], set()) == ("automation.manage",)


PERMISSIONS = st.frozensets(
    st.sampled_from(
        [
            "automation.manage",
            "numbers.blocks",
            "numbers.limits",
            "numbers.sms",
            "webhooks.manage",
            "tickets.manage",
            "numbers.view",
        ]
    )
)


@given(st.lists(st.sampled_from(EVERY_KIND), min_size=1, max_size=10), PERMISSIONS)
def test_a_rule_may_be_owned_exactly_when_nothing_it_needs_is_missing(actions, held):
    missing = rules.missing_permissions(actions, held)
    assert set(missing) == rules.permissions_needed(actions) - held
    assert list(missing) == sorted(missing)
    access = Access("cmp_1", {None: held})
    assert rules.missing_for(actions, access) == missing
    if missing:
        with pytest.raises(PermissionDenied):
            rules.ensure_may_own(actions, access)
    else:
        rules.ensure_may_own(actions, access)


def test_a_number_permission_of_a_subtree_counts_and_a_company_one_does_not():
    access = Access(
        "cmp_1",
        {
            None: frozenset({"automation.manage"}),
            "nod_msk": frozenset({"numbers.blocks", "webhooks.manage"}),
        },
    )
    assert rules.missing_for([BLOCK], access) == ()
    assert rules.missing_for([CallWebhook("whe_1")], access) == ("webhooks.manage",)


def test_whoever_edits_a_rule_owns_it_and_it_is_no_longer_paused():
    rule = rules.paused(made(), rules.paused_reason(["numbers.blocks"]), NOW)
    assert not rule.is_active and "numbers.blocks" in rule.paused_reason
    edited = rules.changed_rule(rule, rules.draft_of(rule), editor_id="usr_2", now=NOW)
    assert (edited.owner_id, edited.paused_reason, edited.is_active) == ("usr_2", "", True)


# ---------------------------------------------------------------- facts


def test_every_public_event_has_a_field_table_and_number_events_the_numbers_facts():
    assert set(rules.TEXT_FIELDS) == PUBLIC_EVENT_TYPES
    assert {"node", "tariff_id", "msisdn", "spent", "limit"} <= rules.fields_for("limit.reached")
    assert "node" not in rules.fields_for("payment.received")


def test_integers_come_back_from_their_json_text_and_missing_ones_are_zero():
    data = {"msisdn": "79161234567", "kind": "total", "limit": "500000", "spent": "500100"}
    facts = rules.event_facts("limit.reached", data)
    assert facts == {
        "msisdn": "79161234567",
        "kind": "total",
        "limit": 500_000,
        "spent": 500_100,
    }
    assert rules.event_facts("payment.received", {})["amount"] == 0


def test_an_operation_event_is_read_by_its_operation_fields():
    data = {"operation": {"id": "op_1", "status": "OPERATION_STATUS_FAILED", "failed": 3}}
    facts = rules.event_facts("operation.finished", data)
    assert (facts["status"], facts["failed"], facts["total"]) == ("failed", 3, 0)


def test_a_condition_on_the_numbers_subtree_holds_below_the_node():
    rule = made()
    assert rules.needs_number_facts(rule.parsed_condition)
    facts = {
        **rules.event_facts("limit.reached", {"spent": "600000"}),
        **rules.number_facts(["nod_root", "nod_msk", "nod_sales"], "t_corp"),
    }
    assert rule.parsed_condition is not None and holds(rule.parsed_condition, facts)
    elsewhere = {**facts, **rules.number_facts(["nod_root", "nod_spb"], "t_corp")}
    assert not holds(rule.parsed_condition, elsewhere)


def test_a_condition_on_the_events_fields_alone_needs_no_number_facts():
    assert not rules.needs_number_facts(made(condition="spent > 1").parsed_condition)
    assert not rules.needs_number_facts(None)


# ---------------------------------------------------------------- how a run ends

RESULTS = st.lists(
    st.builds(
        TargetResult,
        target=st.text(min_size=1, max_size=5),
        status=st.sampled_from(["succeeded", "unchanged", "failed"]),
        code=st.just("x"),
    ),
    max_size=8,
)


@given(RESULTS)
def test_a_run_fails_only_when_every_target_failed_and_succeeds_with_no_failure(results):
    status = rules.run_status(results)
    failed = [r for r in results if r.status == "failed"]
    if not failed:
        assert status == "succeeded"
    elif len(failed) == len(results):
        assert status == "failed"
    else:
        assert status == "partially_failed"


@given(RESULTS)
def test_a_number_fails_when_one_of_its_actions_failed(outcomes):
    result = rules.combined("79161234567", outcomes)
    assert result.target == "79161234567"
    assert (result.status == "failed") == any(o.status == "failed" for o in outcomes)
    if result.status != "failed":
        changed = any(o.status == "succeeded" for o in outcomes)
        assert result.status == ("succeeded" if changed else "unchanged")
