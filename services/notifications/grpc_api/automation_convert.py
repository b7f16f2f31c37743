"""Automation rules and runs: domain ⇄ proto (vm.notifications.v1)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from services.kit.errors import InvalidArgument
from services.notifications.domain.rules import (
    Action,
    AutomationRule,
    BlockNumbers,
    CallWebhook,
    OpenTicket,
    RuleDraft,
    RuleRun,
    SendEmail,
    SendSms,
    SetLimit,
    UnblockNumbers,
)
from services.notifications.service.automation import RuleChanges
from vm.notifications.v1 import notifications_pb2 as api
from vm.notifications.v1 import resources_pb2 as pb


def _stamp(target: object, moment: datetime | None) -> None:
    if moment is not None:
        target.FromDatetime(moment)  # type: ignore[attr-defined]


def action_from(message: pb.RuleAction, index: int = 0) -> Action:
    match message.WhichOneof("kind"):
        case "block_numbers":
            return BlockNumbers(message.block_numbers.type)
        case "unblock_numbers":
            return UnblockNumbers(message.unblock_numbers.type)
        case "set_limit":
            limit = message.set_limit
            return SetLimit(limit.kind, limit.amount, limit.action)
        case "send_sms":
            sms = message.send_sms
            return SendSms(tuple(sms.user_ids), tuple(sms.msisdns), sms.text)
        case "send_email":
            mail = message.send_email
            return SendEmail(tuple(mail.user_ids), tuple(mail.addresses), mail.subject, mail.text)
        case "call_webhook":
            return CallWebhook(message.call_webhook.endpoint_id)
        case "open_ticket":
            ticket = message.open_ticket
            return OpenTicket(ticket.category, ticket.subject, ticket.text)
    raise InvalidArgument("an action needs a kind", {f"actions[{index}]": "choose what to do"})


def action_message(action: Action) -> pb.RuleAction:
    match action:
        case BlockNumbers(block_type):
            return pb.RuleAction(block_numbers=pb.BlockNumbersAction(type=block_type))
        case UnblockNumbers(block_type):
            return pb.RuleAction(unblock_numbers=pb.UnblockNumbersAction(type=block_type))
        case SetLimit(kind, amount, limit_action):
            return pb.RuleAction(
                set_limit=pb.SetLimitAction(kind=kind, amount=amount, action=limit_action)
            )
        case SendSms(user_ids, msisdns, text):
            return pb.RuleAction(
                send_sms=pb.SendSmsAction(user_ids=user_ids, msisdns=msisdns, text=text)
            )
        case SendEmail(user_ids, addresses, subject, text):
            return pb.RuleAction(
                send_email=pb.SendEmailAction(
                    user_ids=user_ids, addresses=addresses, subject=subject, text=text
                )
            )
        case CallWebhook(endpoint_id):
            return pb.RuleAction(call_webhook=pb.CallWebhookAction(endpoint_id=endpoint_id))
        case OpenTicket(category, subject, text):
            return pb.RuleAction(
                open_ticket=pb.OpenTicketAction(category=category, subject=subject, text=text)
            )
    raise TypeError(f"not an action: {action!r}")


def actions_from(messages: Iterable[pb.RuleAction]) -> tuple[Action, ...]:
    return tuple(action_from(m, i) for i, m in enumerate(messages))


def draft_from(request: api.CreateRuleRequest) -> RuleDraft:
    return RuleDraft(
        name=request.name,
        trigger=request.trigger,
        condition=request.condition,
        actions=actions_from(request.actions),
        enabled=request.enabled,
    )


def changes_from(request: api.UpdateRuleRequest) -> RuleChanges:
    return RuleChanges(
        name=request.name if request.HasField("name") else None,
        trigger=request.trigger if request.HasField("trigger") else None,
        condition=request.condition if request.HasField("condition") else None,
        actions=actions_from(request.actions.actions) if request.HasField("actions") else None,
        enabled=request.enabled if request.HasField("enabled") else None,
    )


def rule_message(rule: AutomationRule) -> pb.AutomationRule:
    message = pb.AutomationRule(
        id=rule.id,
        name=rule.name,
        trigger=rule.trigger,
        condition=rule.condition,
        actions=[action_message(a) for a in rule.actions],
        enabled=rule.enabled,
        owner_id=rule.owner_id,
        paused_reason=rule.paused_reason,
    )
    _stamp(message.created_at, rule.created_at)
    _stamp(message.updated_at, rule.updated_at)
    return message


def run_message(run: RuleRun) -> pb.RuleRun:
    message = pb.RuleRun(
        id=run.id,
        rule_id=run.rule_id,
        event_id=run.event.id,
        event_type=run.event.type,
        outcome=run.outcome,
        operation_id=run.operation_id,
        status=run.status,
        detail=run.detail,
    )
    _stamp(message.at, run.at)
    return message
