"""The company's automation rules (notifications' AutomationService): when an event happens
and a condition on it holds, act — block or unblock the numbers concerned, set a limit,
send an SMS or an e-mail, call a webhook, open a ticket.

A rule runs with its owner's rights at the time it runs; each run is an operation of the
journal with a result per number. A rule's own actions never trigger rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field, StrictBool

from gateway.deps import Backends, ReplayableMetadata
from gateway.fields import NOT_BLANK, Email, LimitAction, LimitKind, MoneyIn, Msisdn
from gateway.paging import PageSize, PageToken
from gateway.problems import Problem
from gateway.routers.tickets import SUBJECT_MAX, TEXT_MAX, Category
from gateway.schemas import moment
from gateway.security import CurrentCredential, needs
from services.notifications.domain.webhooks import PUBLIC_EVENT_TYPES
from vm.notifications.v1 import notifications_pb2 as pb
from vm.notifications.v1 import resources_pb2

router = APIRouter(prefix="/api/v1/automation-rules", tags=["automation"])
TIMEOUT = 10.0
MANAGE = needs("automation.manage")

if TYPE_CHECKING:  # a closed list known at run time; to the type checker, a string
    Trigger = str
else:
    Trigger = Literal[tuple(sorted(PUBLIC_EVENT_TYPES))]
RuleId = Annotated[str, Path(min_length=1, max_length=64)]
NAME_MAX = 100
CONDITION_MAX = 1000
SMS_MAX = 670  # ten SMS parts in Cyrillic
RECIPIENTS_MAX = 20
ACTIONS_MAX = 10
UserId = Annotated[str, Field(min_length=1, max_length=64, pattern=NOT_BLANK)]


class BlockNumbers(BaseModel):
    type: Literal["block_numbers"]
    block_type: Literal["voluntary", "lost_stolen"] = Field(examples=["voluntary"])


class UnblockNumbers(BaseModel):
    type: Literal["unblock_numbers"]
    block_type: Literal["voluntary", "lost_stolen"] = Field(examples=["voluntary"])


class SetLimit(BaseModel):
    type: Literal["set_limit"]
    kind: LimitKind = Field(examples=["total"])
    amount: MoneyIn
    action: LimitAction = Field(examples=["block"])


class SendSms(BaseModel):
    type: Literal["send_sms"]
    user_ids: list[UserId] = Field(default_factory=list, max_length=RECIPIENTS_MAX)
    msisdns: list[Msisdn] = Field(default_factory=list, max_length=RECIPIENTS_MAX)
    text: str = Field(max_length=SMS_MAX, pattern=NOT_BLANK)


class SendEmail(BaseModel):
    type: Literal["send_email"]
    user_ids: list[UserId] = Field(default_factory=list, max_length=RECIPIENTS_MAX)
    addresses: list[Email] = Field(default_factory=list, max_length=RECIPIENTS_MAX)
    subject: str = Field(max_length=SUBJECT_MAX, pattern=NOT_BLANK)
    text: str = Field(max_length=TEXT_MAX, pattern=NOT_BLANK)


class CallWebhook(BaseModel):
    type: Literal["call_webhook"]
    endpoint_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)


class OpenTicket(BaseModel):
    type: Literal["open_ticket"]
    category: Category = Field(examples=["technical"])
    subject: str = Field(max_length=SUBJECT_MAX, pattern=NOT_BLANK)
    text: str = Field(max_length=TEXT_MAX, pattern=NOT_BLANK)


Action = Annotated[
    BlockNumbers | UnblockNumbers | SetLimit | SendSms | SendEmail | CallWebhook | OpenTicket,
    Field(discriminator="type"),
]


class RuleIn(BaseModel):
    name: str = Field(max_length=NAME_MAX, pattern=NOT_BLANK, examples=["Лимит в Москве"])
    trigger: Trigger = Field(examples=["limit.reached"])
    condition: str = Field(
        default="",
        max_length=CONDITION_MAX,
        description="over the event's fields and the number's facts, e.g. `node within "
        '"nod_msk" and spent >= 500000`; empty: always',
    )
    actions: list[Action] = Field(min_length=1, max_length=ACTIONS_MAX)
    enabled: StrictBool = True


class RulePatch(BaseModel):
    name: str | None = Field(default=None, max_length=NAME_MAX, pattern=NOT_BLANK)
    trigger: Trigger | None = None
    condition: str | None = Field(default=None, max_length=CONDITION_MAX)
    actions: list[Action] | None = Field(default=None, min_length=1, max_length=ACTIONS_MAX)
    enabled: StrictBool | None = None


class RuleOut(BaseModel):
    id: str
    name: str
    trigger: str
    condition: str = Field(description="canonical form; empty: always")
    actions: list[Action]
    enabled: bool
    owner_id: str = Field(description="the user whose rights the rule runs with")
    paused_reason: str | None = Field(description="why the rule is paused, when it is")
    created_at: datetime
    updated_at: datetime


class RulePage(BaseModel):
    items: list[RuleOut]
    next_page_token: str = Field(description="empty after the last page")


class RunOut(BaseModel):
    id: str
    rule_id: str
    event_id: str
    event_type: str
    at: datetime
    outcome: Literal["ran", "skipped", "throttled", "paused", "pending"]
    operation_id: str | None = Field(description="the journal's operation (outcome ran)")
    status: str | None = Field(description="succeeded, partially_failed or failed (ran)")
    detail: str | None


class RunPage(BaseModel):
    items: list[RunOut]
    next_page_token: str = Field(description="empty after the last page")


def action_message(action: Action) -> resources_pb2.RuleAction:
    match action:
        case BlockNumbers():
            return resources_pb2.RuleAction(
                block_numbers=resources_pb2.BlockNumbersAction(type=action.block_type)
            )
        case UnblockNumbers():
            return resources_pb2.RuleAction(
                unblock_numbers=resources_pb2.UnblockNumbersAction(type=action.block_type)
            )
        case SetLimit():
            return resources_pb2.RuleAction(
                set_limit=resources_pb2.SetLimitAction(
                    kind=action.kind, amount=action.amount.amount, action=action.action
                )
            )
        case SendSms():
            return resources_pb2.RuleAction(
                send_sms=resources_pb2.SendSmsAction(
                    user_ids=action.user_ids, msisdns=action.msisdns, text=action.text
                )
            )
        case SendEmail():
            return resources_pb2.RuleAction(
                send_email=resources_pb2.SendEmailAction(
                    user_ids=action.user_ids,
                    addresses=action.addresses,
                    subject=action.subject,
                    text=action.text,
                )
            )
        case CallWebhook():
            return resources_pb2.RuleAction(
                call_webhook=resources_pb2.CallWebhookAction(endpoint_id=action.endpoint_id)
            )
        case OpenTicket():
            return resources_pb2.RuleAction(
                open_ticket=resources_pb2.OpenTicketAction(
                    category=action.category, subject=action.subject, text=action.text
                )
            )
    raise Problem("validation_failed", "an action of an unknown type")


def action_out(message: resources_pb2.RuleAction) -> Action:
    kind = message.WhichOneof("kind")
    if kind == "block_numbers":
        return BlockNumbers(type=kind, block_type=message.block_numbers.type)
    if kind == "unblock_numbers":
        return UnblockNumbers(type=kind, block_type=message.unblock_numbers.type)
    if kind == "set_limit":
        limit = message.set_limit
        return SetLimit(
            type=kind,
            kind=limit.kind,
            amount=MoneyIn(amount=limit.amount),
            action=limit.action,
        )
    if kind == "send_sms":
        sms = message.send_sms
        return SendSms(
            type=kind, user_ids=list(sms.user_ids), msisdns=list(sms.msisdns), text=sms.text
        )
    if kind == "send_email":
        mail = message.send_email
        return SendEmail(
            type=kind,
            user_ids=list(mail.user_ids),
            addresses=list(mail.addresses),
            subject=mail.subject,
            text=mail.text,
        )
    if kind == "call_webhook":
        return CallWebhook(type=kind, endpoint_id=message.call_webhook.endpoint_id)
    ticket = message.open_ticket
    return OpenTicket(
        type="open_ticket",
        category=ticket.category,
        subject=ticket.subject,
        text=ticket.text,
    )


def rule_out(r: resources_pb2.AutomationRule) -> RuleOut:
    return RuleOut(
        id=r.id,
        name=r.name,
        trigger=r.trigger,
        condition=r.condition,
        actions=[action_out(a) for a in r.actions],
        enabled=r.enabled,
        owner_id=r.owner_id,
        paused_reason=r.paused_reason or None,
        created_at=moment(r.created_at),
        updated_at=moment(r.updated_at),
    )


def run_out(r: resources_pb2.RuleRun) -> RunOut:
    return RunOut(
        id=r.id,
        rule_id=r.rule_id,
        event_id=r.event_id,
        event_type=r.event_type,
        at=moment(r.at),
        outcome=r.outcome,
        operation_id=r.operation_id or None,
        status=r.status or None,
        detail=r.detail or None,
    )


@router.get("", response_model=RulePage, openapi_extra=MANAGE)
async def list_automation_rules(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> RulePage:
    """The company's automation rules."""
    response = await backends.automation.ListRules(
        pb.ListRulesRequest(page_size=page_size, page_token=page_token),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return RulePage(
        items=[rule_out(r) for r in response.rules], next_page_token=response.next_page_token
    )


@router.post("", status_code=201, response_model=RuleOut, openapi_extra=MANAGE)
async def create_automation_rule(
    body: RuleIn, backends: Backends, metadata: ReplayableMetadata
) -> RuleOut:
    """A new rule, owned by the caller: it runs with the caller's rights."""
    response = await backends.automation.CreateRule(
        pb.CreateRuleRequest(
            name=body.name,
            trigger=body.trigger,
            condition=body.condition,
            actions=[action_message(a) for a in body.actions],
            enabled=body.enabled,
        ),
        metadata=metadata,
        timeout=TIMEOUT,
    )
    return rule_out(response.rule)


@router.get("/{rule_id}", response_model=RuleOut, openapi_extra=MANAGE)
async def get_automation_rule(
    rule_id: RuleId, backends: Backends, credential: CurrentCredential
) -> RuleOut:
    """One rule."""
    response = await backends.automation.GetRule(
        pb.GetRuleRequest(rule_id=rule_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return rule_out(response.rule)


@router.patch("/{rule_id}", response_model=RuleOut, openapi_extra=MANAGE)
async def update_automation_rule(
    rule_id: RuleId, body: RulePatch, backends: Backends, credential: CurrentCredential
) -> RuleOut:
    """Change a rule; switching a paused rule on again checks its owner's rights anew."""
    message = pb.UpdateRuleRequest(rule_id=rule_id)
    if body.name is not None:
        message.name = body.name
    if body.trigger is not None:
        message.trigger = body.trigger
    if body.condition is not None:
        message.condition = body.condition
    if body.actions is not None:
        message.actions.actions.extend(action_message(a) for a in body.actions)
    if body.enabled is not None:
        message.enabled = body.enabled
    response = await backends.automation.UpdateRule(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return rule_out(response.rule)


@router.delete("/{rule_id}", status_code=204, response_class=Response, openapi_extra=MANAGE)
async def delete_automation_rule(
    rule_id: RuleId, backends: Backends, credential: CurrentCredential
) -> Response:
    """Delete a rule; its runs stay in the journal."""
    await backends.automation.DeleteRule(
        pb.DeleteRuleRequest(rule_id=rule_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return Response(status_code=204)


@router.get("/{rule_id}/runs", response_model=RunPage, openapi_extra=MANAGE)
async def list_automation_rule_runs(
    rule_id: RuleId,
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> RunPage:
    """The rule's firings, newest first: run (with its operation), skipped, throttled or
    paused."""
    response = await backends.automation.ListRuleRuns(
        pb.ListRuleRunsRequest(rule_id=rule_id, page_size=page_size, page_token=page_token),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return RunPage(
        items=[run_out(r) for r in response.runs], next_page_token=response.next_page_token
    )
