"""Automation rules: when a public event happens (and a condition on it holds), do actions.

A rule belongs to a company and runs with its owner's rights at the time it runs: every
action needs a permission of its own (`PERMISSION_OF`), which the owner must hold when the
rule is saved (nobody makes a rule do what they may not do) and when it runs (an owner who
lost one finds the rule paused, saying why). A rule's own actions never trigger rules
(public_events.came_from_rule), and a rule fires at most throttle.MAX_FIRINGS_PER_MINUTE
times a minute.

Each firing of a rule is a run: pending until a worker takes it, then `ran` (an operation
of the journal with a result per target), `skipped` (the condition did not hold),
`throttled` or `paused`.

The condition speaks of the event's fields by their names in its payload (`msisdn`,
`spent`, `block_type`...), and, for an event about a number, of the number's facts as
catalog has them (`node`, with `node within "<id>"` for its subtree, and `tariff_id`).

Pure: ids and times come in as arguments.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.kit.authz import Access
from services.kit.errors import InvalidArgument, PermissionDenied
from services.kit.phone import normalize_msisdn
from services.notifications.domain.conditions import (
    PATH_SUFFIX,
    Condition,
    fields_of,
    parse_condition,
    render,
)
from services.notifications.domain.webhooks import PUBLIC_EVENT_TYPES

NAME_MAX = 100
ACTIONS_MIN, ACTIONS_MAX = 1, 10
RECIPIENTS_MAX = 20
SMS_TEXT_MAX = 670  # ten parts of a Cyrillic SMS
SUBJECT_MAX = 200
TEXT_MAX = 5_000
ENDPOINT_ID_MAX = 64
USER_ID_MAX = 64
# Kopecks: a limit is positive and far below what a 64-bit integer holds.
LIMIT_AMOUNT_MAX = 10**13
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
EMAIL_MAX = 254

# What each action may name, as the services that carry it out accept it (catalog's
# customer blocks, billing's limits, tickets' categories): refused when saved, not when run.
BLOCK_TYPES = ("voluntary", "lost_stolen")
LIMIT_KINDS = ("total", "data", "roaming", "calls", "sms")
LIMIT_ACTIONS = ("notify", "block")
TICKET_CATEGORIES = ("billing", "technical", "number_porting", "contract", "other")

# Who manages rules (company-wide); a rule's owner keeps needing it for the rule to run.
MANAGE = "automation.manage"

# Runs: what became of a firing.
PENDING = "pending"
RAN = "ran"
SKIPPED = "skipped"
THROTTLED = "throttled"
PAUSED = "paused"
OUTCOMES = (PENDING, RAN, SKIPPED, THROTTLED, PAUSED)

# The journal's type of a run and how people read it.
OPERATION_TYPE = "automation_rule"
OPERATION_TITLE = "Правило автоматизации: {name}"


# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class BlockNumbers:
    block_type: str


@dataclass(frozen=True)
class UnblockNumbers:
    block_type: str


@dataclass(frozen=True)
class SetLimit:
    kind: str
    amount: int  # kopecks
    action: str


@dataclass(frozen=True)
class SendSms:
    user_ids: tuple[str, ...]
    msisdns: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class SendEmail:
    user_ids: tuple[str, ...]
    addresses: tuple[str, ...]
    subject: str
    text: str


@dataclass(frozen=True)
class CallWebhook:
    endpoint_id: str


@dataclass(frozen=True)
class OpenTicket:
    category: str
    subject: str
    text: str


Action = BlockNumbers | UnblockNumbers | SetLimit | SendSms | SendEmail | CallWebhook | OpenTicket
# The actions done once for each number the event concerns (the others: once per run).
NumberAction = BlockNumbers | UnblockNumbers | SetLimit

# The permission the owner needs for each action. An e-mail to people needs none beyond
# owning the rule (MANAGE): it tells, it changes nothing of the company's.
PERMISSION_OF: Mapping[type, str | None] = {
    BlockNumbers: "numbers.blocks",
    UnblockNumbers: "numbers.blocks",
    SetLimit: "numbers.limits",
    SendSms: "numbers.sms",
    SendEmail: None,
    CallWebhook: "webhooks.manage",
    OpenTicket: "tickets.manage",
}

# The name of each action's kind, as the API names it.
KIND_OF: Mapping[type, str] = {
    BlockNumbers: "block_numbers",
    UnblockNumbers: "unblock_numbers",
    SetLimit: "set_limit",
    SendSms: "send_sms",
    SendEmail: "send_email",
    CallWebhook: "call_webhook",
    OpenTicket: "open_ticket",
}


def permission_of(action: Action) -> str | None:
    return PERMISSION_OF[type(action)]


def permissions_needed(actions: Iterable[Action]) -> frozenset[str]:
    """What the owner must hold for the rule to run: MANAGE and each action's permission."""
    needed = {permission_of(action) for action in actions}
    return frozenset({MANAGE, *(p for p in needed if p)})


def missing_permissions(actions: Iterable[Action], held: Collection[str]) -> tuple[str, ...]:
    """The permissions the actions need that are not among `held` (anywhere in the
    company: a permission held for a subtree lets the rule run, and the action is refused
    for each number outside it), sorted."""
    return tuple(sorted(permissions_needed(actions) - set(held)))


def held_anywhere(access: Access, permissions: Iterable[str]) -> frozenset[str]:
    """Those of `permissions` the access holds somewhere: a company-level one only for the
    whole company, a number-level one for the company or some subtree."""
    return frozenset(p for p in permissions if access.nodes_with(p) != frozenset())


def missing_for(actions: Sequence[Action], access: Access) -> tuple[str, ...]:
    """What the holder of `access` lacks to own a rule with these actions."""
    return missing_permissions(actions, held_anywhere(access, permissions_needed(actions)))


def paused_reason(missing: Sequence[str]) -> str:
    return "the rule's owner no longer holds " + ", ".join(missing)


OWNER_GONE = "the rule's owner was deleted or deactivated"


def ensure_may_own(actions: Sequence[Action], access: Access) -> None:
    """Nobody makes a rule do what they may not do themself."""
    missing = missing_for(actions, access)
    if missing:
        raise PermissionDenied(
            "you do not have the permissions this rule's actions need: " + ", ".join(missing)
        )


# ---------------------------------------------------------------- fields of the events

# The fields of each trigger's payload (protos/vm/*/events/v1/events.proto) a condition may
# test: text fields and integer ones (money in kopecks, counts). Events carry integers as
# JSON text (int64 in proto3 JSON); `event_facts` reads them back as integers.
_NUMBER_BLOCK = ("msisdn", "block_type", "status")
_BALANCE = ("account_id",)
TEXT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "number.blocked": _NUMBER_BLOCK,
    "number.unblocked": _NUMBER_BLOCK,
    "number.tariff_changed": ("msisdn", "tariff_id", "previous_tariff_id"),
    "number.service_connected": ("msisdn", "service_id"),
    "number.service_disconnected": ("msisdn", "service_id"),
    "number.sim_replaced": ("msisdn", "iccid", "previous_iccid"),
    "number.msisdn_replaced": ("msisdn", "previous_msisdn", "iccid"),
    "account.balance_exhausted": _BALANCE,
    "account.balance_restored": _BALANCE,
    "account.balance_low": ("account_id", "account_number"),
    "payment.received": ("account_id", "payment_id"),
    "transfer.completed": ("transfer_id", "from_account_id", "to_account_id"),
    "limit.reached": ("msisdn", "kind", "action", "period"),
    "promised_payment.due": ("account_id", "account_number", "promised_payment_id", "due_at"),
    "operation.finished": ("operation_id", "type", "status", "service"),
    "file.ready": ("operation_id", "kind", "type", "name", "content_type"),
    "ticket.status_changed": ("ticket_id", "status", "previous_status", "category"),
}
INTEGER_FIELDS: Mapping[str, tuple[str, ...]] = {
    "account.balance_exhausted": ("balance", "available"),
    "account.balance_restored": ("balance", "available"),
    "account.balance_low": ("balance", "threshold"),
    "payment.received": ("amount", "balance_after"),
    "transfer.completed": ("amount",),
    "limit.reached": ("limit", "spent"),
    "promised_payment.due": ("amount",),
    "operation.finished": ("total", "done", "failed"),
    "file.ready": ("size",),
}
# A number's facts, for the events about a number (catalog's, read when the rule runs).
NODE = "node"
NODE_PATH = NODE + PATH_SUFFIX
NUMBER_FIELDS = (NODE, "tariff_id")
# The number's node comes in the event itself after a number's replacement.
_NODE_IN_EVENT = {"number.msisdn_replaced"}


def is_about_a_number(trigger: str) -> bool:
    return "msisdn" in TEXT_FIELDS.get(trigger, ())


def fields_for(trigger: str) -> frozenset[str]:
    """The fields a condition of a rule on `trigger` may test."""
    number = NUMBER_FIELDS if is_about_a_number(trigger) else ()
    return frozenset({*TEXT_FIELDS.get(trigger, ()), *INTEGER_FIELDS.get(trigger, ()), *number})


def needs_number_facts(condition: Condition | None) -> bool:
    """Whether evaluating the condition takes asking catalog about the number."""
    return condition is not None and bool(fields_of(condition) & set(NUMBER_FIELDS))


_OPERATION_STATUS_PREFIX = "OPERATION_STATUS_"


def event_facts(trigger: str, data: Mapping[str, Any]) -> dict[str, object]:
    """The event's fields a condition may test, by name: text as text, integers as
    integers (an integer field the payload leaves out is 0, as proto3 means it)."""
    if trigger == "operation.finished":
        data = _operation_fields(data)
    facts: dict[str, object] = {}
    for name in TEXT_FIELDS.get(trigger, ()):
        value = data.get(name)
        if isinstance(value, str):
            facts[name] = value
    for name in INTEGER_FIELDS.get(trigger, ()):
        number = _integer(data.get(name, 0))
        if number is not None:
            facts[name] = number
    if trigger in _NODE_IN_EVENT and isinstance(data.get("node_id"), str):
        facts[NODE] = data["node_id"]
        facts[NODE_PATH] = [str(n) for n in data.get("node_path", ())]
    return facts


def _operation_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    operation = data.get("operation")
    if not isinstance(operation, Mapping):
        return {}
    status = str(operation.get("status", ""))
    return {
        "operation_id": operation.get("id"),
        "type": operation.get("type"),
        "status": status.removeprefix(_OPERATION_STATUS_PREFIX).lower(),
        "service": operation.get("service"),
        "total": operation.get("total", 0),
        "done": operation.get("done", 0),
        "failed": operation.get("failed", 0),
    }


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value):
        return int(value)
    return None


def number_facts(node_path: Sequence[str], tariff_id: str) -> dict[str, object]:
    """A number's facts: its node (the last of its path, root first) and its tariff."""
    facts: dict[str, object] = {"tariff_id": tariff_id} if tariff_id else {}
    if node_path:
        facts[NODE] = node_path[-1]
        facts[NODE_PATH] = list(node_path)
    return facts


# ---------------------------------------------------------------- the rule


@dataclass(frozen=True)
class AutomationRule:
    id: str
    company_id: str
    name: str
    trigger: str
    condition: str  # canonical (conditions.render); empty: always
    actions: tuple[Action, ...]
    enabled: bool
    owner_id: str
    created_at: datetime
    updated_at: datetime
    paused_reason: str = ""
    version: int = 0

    @property
    def parsed_condition(self) -> Condition | None:
        if not self.condition:
            return None
        return parse_condition(self.condition, allowed_fields=fields_for(self.trigger))

    @property
    def is_active(self) -> bool:
        """Whether its trigger fires it: enabled and not paused."""
        return self.enabled and not self.paused_reason


@dataclass(frozen=True)
class RuleDraft:
    """What a person asks a rule to be, unchecked."""

    name: str
    trigger: str
    condition: str
    actions: Sequence[Action]
    enabled: bool = True


def new_rule(
    draft: RuleDraft, *, rule_id: str, company_id: str, owner_id: str, now: datetime
) -> AutomationRule:
    name, trigger, condition, actions = checked_parts(draft)
    return AutomationRule(
        id=rule_id,
        company_id=company_id,
        name=name,
        trigger=trigger,
        condition=condition,
        actions=actions,
        enabled=draft.enabled,
        owner_id=owner_id,
        created_at=now,
        updated_at=now,
    )


def changed_rule(
    rule: AutomationRule, draft: RuleDraft, *, editor_id: str, now: datetime
) -> AutomationRule:
    """The rule as edited. Whoever edits a rule owns it from then on: it runs with the
    editor's rights, so that nobody makes another person's rights do what they may not do
    themself; and a paused rule runs again (the new owner's rights are checked each run)."""
    name, trigger, condition, actions = checked_parts(draft)
    return replace(
        rule,
        name=name,
        trigger=trigger,
        condition=condition,
        actions=actions,
        enabled=draft.enabled,
        owner_id=editor_id,
        paused_reason="",
        updated_at=now,
    )


def draft_of(rule: AutomationRule) -> RuleDraft:
    return RuleDraft(rule.name, rule.trigger, rule.condition, rule.actions, rule.enabled)


def paused(rule: AutomationRule, reason: str, now: datetime) -> AutomationRule:
    return replace(rule, paused_reason=reason, updated_at=now)


def checked_parts(draft: RuleDraft) -> tuple[str, str, str, tuple[Action, ...]]:
    """The rule's name, trigger, canonical condition and actions, or InvalidArgument naming
    every field that is wrong."""
    errors: dict[str, str] = {}
    name = draft.name.strip()
    if not name or len(name) > NAME_MAX:
        errors["name"] = f"1 to {NAME_MAX} characters"
    trigger = draft.trigger.strip()
    condition = ""
    if trigger not in PUBLIC_EVENT_TYPES:
        errors["trigger"] = "one of: " + ", ".join(sorted(PUBLIC_EVENT_TYPES))
    elif draft.condition.strip():
        try:
            parsed = parse_condition(draft.condition, allowed_fields=fields_for(trigger))
        except InvalidArgument as invalid:
            errors["condition"] = invalid.fields.get("condition", invalid.message)
        else:
            condition = render(parsed)
    actions: list[Action] = []
    if not ACTIONS_MIN <= len(draft.actions) <= ACTIONS_MAX:
        errors["actions"] = f"{ACTIONS_MIN} to {ACTIONS_MAX} actions"
    for index, action in enumerate(draft.actions):
        try:
            actions.append(checked_action(action))
        except InvalidArgument as invalid:
            for key, problem in (invalid.fields or {"": invalid.message}).items():
                errors[f"actions[{index}]" + (f".{key}" if key else "")] = problem
    if errors:
        raise InvalidArgument("the rule is not valid", errors)
    return name, trigger, condition, tuple(actions)


def checked_action(action: Action) -> Action:
    """The action with its texts trimmed and its recipients normalised, or InvalidArgument."""
    errors: dict[str, str] = {}
    match action:
        case BlockNumbers(block_type) | UnblockNumbers(block_type):
            if block_type not in BLOCK_TYPES:
                errors["type"] = "one of: " + ", ".join(BLOCK_TYPES)
            checked: Action = action
        case SetLimit(kind, amount, limit_action):
            if kind not in LIMIT_KINDS:
                errors["kind"] = "one of: " + ", ".join(LIMIT_KINDS)
            if not 0 < amount <= LIMIT_AMOUNT_MAX:
                errors["amount"] = "a positive sum in kopecks"
            if limit_action not in LIMIT_ACTIONS:
                errors["action"] = "one of: " + ", ".join(LIMIT_ACTIONS)
            checked = action
        case SendSms(user_ids, msisdns, text):
            users = _checked_users(user_ids, errors)
            numbers = _checked_msisdns(msisdns, errors)
            if not users and not numbers and "recipients" not in errors:
                errors["recipients"] = "choose at least one user or number"
            checked = SendSms(users, numbers, _text(text, SMS_TEXT_MAX, "text", errors))
        case SendEmail(user_ids, addresses, subject, text):
            users = _checked_users(user_ids, errors)
            emails = _checked_addresses(addresses, errors)
            if not users and not emails and "recipients" not in errors:
                errors["recipients"] = "choose at least one user or address"
            checked = SendEmail(
                users,
                emails,
                _text(subject, SUBJECT_MAX, "subject", errors),
                _text(text, TEXT_MAX, "text", errors),
            )
        case CallWebhook(endpoint_id):
            endpoint = endpoint_id.strip()
            if not endpoint or len(endpoint) > ENDPOINT_ID_MAX:
                errors["endpoint_id"] = "choose one of the company's webhook endpoints"
            checked = CallWebhook(endpoint)
        case OpenTicket(category, subject, text):
            if category not in TICKET_CATEGORIES:
                errors["category"] = "one of: " + ", ".join(TICKET_CATEGORIES)
            checked = OpenTicket(
                category,
                _text(subject, SUBJECT_MAX, "subject", errors),
                _text(text, TEXT_MAX, "text", errors),
            )
        case _:
            raise InvalidArgument("an action of an unknown kind", {"kind": "unknown"})
    if errors:
        raise InvalidArgument("the action is not valid", errors)
    return checked


def _text(raw: str, limit: int, name: str, errors: dict[str, str]) -> str:
    text = raw.strip()
    if not text or len(text) > limit:
        errors[name] = f"1 to {limit} characters"
    return text


def _too_many(values: Sequence[str], name: str, errors: dict[str, str]) -> bool:
    if len(values) > RECIPIENTS_MAX:
        errors[name] = f"at most {RECIPIENTS_MAX}"
        return True
    return False


def _checked_users(user_ids: Sequence[str], errors: dict[str, str]) -> tuple[str, ...]:
    if _too_many(user_ids, "user_ids", errors):
        return ()
    users = tuple(dict.fromkeys(u.strip() for u in user_ids))
    if any(not u or len(u) > USER_ID_MAX for u in users):
        errors["user_ids"] = "user ids of the company"
    return users


def _checked_msisdns(msisdns: Sequence[str], errors: dict[str, str]) -> tuple[str, ...]:
    if _too_many(msisdns, "msisdns", errors):
        return ()
    normalised = [normalize_msisdn(raw) for raw in msisdns]
    wrong = [raw for raw, n in zip(msisdns, normalised, strict=True) if n is None]
    if wrong:
        errors["msisdns"] = "not a mobile number: " + ", ".join(wrong[:3])
    return tuple(dict.fromkeys(n for n in normalised if n))


def _checked_addresses(addresses: Sequence[str], errors: dict[str, str]) -> tuple[str, ...]:
    if _too_many(addresses, "addresses", errors):
        return ()
    trimmed = [a.strip() for a in addresses]
    wrong = [a for a in trimmed if len(a) > EMAIL_MAX or not EMAIL.match(a)]
    if wrong:
        errors["addresses"] = "not an e-mail address: " + ", ".join(wrong[:3])
    return tuple(dict.fromkeys(trimmed))


# ---------------------------------------------------------------- runs


@dataclass(frozen=True)
class FiringEvent:
    """The public event that fired a rule, as much of it as a run needs."""

    id: str
    type: str
    time: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    subject: str | None = None
    source: str = ""
    msisdns: tuple[str, ...] = ()  # the numbers it concerns


@dataclass(frozen=True)
class TargetResult:
    """What a run did to one target: a number (its number actions, together), or a
    recipient, an endpoint, a ticket (`<kind>:<who>`)."""

    target: str
    status: str  # succeeded, unchanged or failed (kit/operation_status)
    code: str  # "changed", "unchanged", "sent", or the refusal's reason in lower_snake
    detail: str = ""


@dataclass(frozen=True)
class RuleRun:
    id: str
    company_id: str
    rule_id: str
    event: FiringEvent
    at: datetime  # when it fired
    outcome: str  # OUTCOMES
    operation_id: str = ""
    status: str = ""  # succeeded, partially_failed, failed (outcome ran)
    detail: str = ""
    finished_at: datetime | None = None


def run_status(results: Sequence[TargetResult]) -> str:
    """How a run ended: no failure is success; every target failed is failure (a run
    that had nothing to do succeeded)."""
    failed = sum(1 for r in results if r.status == "failed")
    if failed == 0:
        return "succeeded"
    return "failed" if failed == len(results) else "partially_failed"


def combined(target: str, outcomes: Sequence[TargetResult]) -> TargetResult:
    """One number's result from each of its number actions' results: failed if one
    failed, changed if one changed, else unchanged; the detail tells each."""
    if not outcomes:
        return TargetResult(target, "unchanged", "unchanged")
    failures = [o for o in outcomes if o.status == "failed"]
    detail = "; ".join(o.detail or o.code for o in outcomes)
    if failures:
        return TargetResult(target, "failed", failures[0].code, detail)
    if any(o.status == "succeeded" for o in outcomes):
        return TargetResult(target, "succeeded", "changed", detail)
    return TargetResult(target, "unchanged", "unchanged", detail)
