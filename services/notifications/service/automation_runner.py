"""Running automation rules' firings: the notifications worker's part.

A firing is recorded, pending, by the events' consumer (service/automation.py). A worker
claims it with a lease (two workers never run one; a worker that dies leaves a lease that
expires) and then, outside any transaction:

1. obtains the owner's rights now: a token of the owner acting for the rule (identity
   refuses it for an owner who is gone or not active) and the access behind it; an owner
   without a permission the actions need finds the rule paused, saying why;
2. gathers the facts (the event's fields; for a number, its node and tariff from catalog,
   as the owner sees them) and evaluates the condition: false, the run is skipped;
3. does each action for each number concerned, as the owner (catalog, billing and tickets
   check the owner's token themselves), and sends the messages;
4. records the run, the operation of the journal with its per-target results
   (`vm.notifications.operation.updated.v1`, through the outbox) and any webhook delivery
   in one transaction.

Everything a run causes says a rule caused it (the caller's `rule_id`: actor kind "rule"),
its own operation event included, so that no rule fires on it. A crash between the actions
and the record runs the firing again when the lease expires: blocks and limits are then
unchanged, messages may go twice (at least once; the SMS centre drops a repeated
reference).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit import operation_status
from services.kit.authz import Access
from services.kit.context import Caller, caller_var
from services.kit.delivery import MailSender, SmsCentre
from services.kit.errors import DomainError, NotAllowed, NotFound, Unauthenticated, Unavailable
from services.kit.events import Event, new_event
from services.kit.ids import new_id
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from services.notifications.domain import rules
from services.notifications.domain.conditions import holds
from services.notifications.domain.rules import (
    AutomationRule,
    BlockNumbers,
    CallWebhook,
    NumberAction,
    OpenTicket,
    RuleRun,
    SendEmail,
    SendSms,
    SetLimit,
    TargetResult,
    UnblockNumbers,
)
from services.notifications.domain.webhooks import message_id
from services.notifications.service.automation_peers import Person
from services.notifications.service.fan_out import new_delivery
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore
from services.notifications.store.rule_runs import RunStore
from services.notifications.store.rules import RuleStore
from vm.common.v1 import common_pb2

log = logging.getLogger(__name__)

SERVICE = "notifications"
SOURCE = "/services/notifications"
OPERATION_UPDATED = f"vm.{SERVICE}.operation.updated.v1"
OPERATION_PREFIX = "aop"
LEASE = timedelta(minutes=2)  # longer than a run's calls can take
RUNS_PER_PASS = 20


class RulePeers(Protocol):
    """The other services, as a rule's owner (automation_peers.GrpcRulePeers)."""

    async def rule_caller(self, company_id: str, owner_id: str, rule_id: str) -> Caller: ...
    async def access(self, caller: Caller) -> Access: ...
    async def number_facts(self, caller: Caller, msisdn: str) -> dict[str, object]: ...
    async def set_block(self, caller: Caller, msisdn: str, block_type: str) -> None: ...
    async def remove_block(self, caller: Caller, msisdn: str, block_type: str) -> None: ...
    async def set_limit(
        self, caller: Caller, msisdn: str, kind: str, amount: int, action: str
    ) -> None: ...
    async def open_ticket(
        self, caller: Caller, category: str, subject: str, text: str, msisdns: Sequence[str]
    ) -> str: ...
    async def people(self, company_id: str, user_ids: Sequence[str]) -> dict[str, Person]: ...


@dataclass(frozen=True)
class RunnerStores:
    rules: RuleStore
    runs: RunStore
    endpoints: EndpointStore
    deliveries: DeliveryStore


@dataclass(frozen=True)
class Acted:
    """What a run did: a result per target, and the webhook deliveries to record with it."""

    results: list[TargetResult]
    webhook_endpoints: list[str]


def wall_clock() -> datetime:
    return datetime.now(UTC)


class AutomationRunner:
    def __init__(
        self,
        stores: RunnerStores,
        peers: RulePeers,
        sms: SmsCentre,
        mail: MailSender,
        transactions: Transactions,
        outbox: Outbox,
        *,
        holder: str | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self._stores = stores
        self._peers = peers
        self._sms = sms
        self._mail = mail
        self._tx = transactions
        self._outbox = outbox
        self._holder = holder or secrets.token_hex(8)
        self._clock = clock
        self._stopping = asyncio.Event()

    async def run_due(self, now: datetime) -> int:
        """Claims pending firings one at a time (at most RUNS_PER_PASS) and runs each;
        returns how many it ran to an end (ran, skipped or paused)."""
        finished = 0
        for _ in range(RUNS_PER_PASS):
            run = await self._stores.runs.claim(now, self._holder, now + LEASE)
            if run is None:
                break
            try:
                finished += await self._run(run)
            except Unavailable as error:
                # A service did not answer: the lease expires and the firing runs again.
                log.warning(
                    "automation run postponed", extra={"run_id": run.id, "error": str(error)}
                )
            except Exception:
                # Not this pass's to decide: the lease expires and it is tried again, while
                # the other firings go on.
                log.exception("automation run failed", extra={"run_id": run.id})
        return finished

    async def run(self, clock: Callable[[], datetime] = wall_clock, poll: float = 1.0) -> None:
        """Until `stop()`: runs what is due, and waits `poll` seconds when nothing was."""
        while not self._stopping.is_set():
            try:
                finished = await self.run_due(clock())
            except Exception as error:
                # The database is away: nothing was claimed; the next pass tries again.
                log.warning("automation runner paused", extra={"error": str(error)})
                finished = 0
            if finished == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=poll)

    def stop(self) -> None:
        self._stopping.set()

    async def _run(self, run: RuleRun) -> int:
        try:
            rule = await self._stores.rules.get(run.company_id, run.rule_id)
        except NotFound:
            return await self._finish(run, rules.SKIPPED, "the rule was deleted")
        if not rule.is_active:
            why = rule.paused_reason or "the rule is disabled"
            return await self._finish(run, rules.SKIPPED, why)
        try:
            caller = await self._peers.rule_caller(rule.company_id, rule.owner_id, rule.id)
            access = await self._peers.access(caller)
        except (NotFound, NotAllowed, Unauthenticated):
            return await self._pause(rule, run, rules.OWNER_GONE)
        missing = rules.missing_for(rule.actions, access)
        if missing:
            return await self._pause(rule, run, rules.paused_reason(missing))
        # Everything from here on is the rule's doing, with the owner's rights.
        acting = caller_var.set(caller)
        try:
            return await self._run_as_owner(rule, run, caller)
        finally:
            caller_var.reset(acting)

    async def _run_as_owner(self, rule: AutomationRule, run: RuleRun, caller: Caller) -> int:
        condition = rule.parsed_condition
        if condition is not None and not holds(condition, await self._facts(rule, run, caller)):
            return await self._finish(run, rules.SKIPPED, "the condition did not hold")
        acted = await self._act(rule, run, caller)
        return await self._record(rule, run, acted)

    async def _facts(self, rule: AutomationRule, run: RuleRun, caller: Caller) -> dict[str, object]:
        facts = rules.event_facts(run.event.type, run.event.data)
        if rules.needs_number_facts(rule.parsed_condition) and run.event.msisdns:
            try:
                facts |= await self._peers.number_facts(caller, run.event.msisdns[0])
            except Unavailable:
                raise
            except DomainError:
                pass  # a number the owner may not see: its facts are missing (tests false)
        return facts

    # ------------------------------------------------------------ actions

    async def _act(self, rule: AutomationRule, run: RuleRun, caller: Caller) -> Acted:
        number_actions = [a for a in rule.actions if isinstance(a, NumberAction)]
        results: list[TargetResult] = []
        if number_actions:
            for msisdn in run.event.msisdns:
                outcomes = [await self._on_number(caller, a, msisdn) for a in number_actions]
                results.append(rules.combined(msisdn, outcomes))
        endpoints: list[str] = []
        for action in rule.actions:
            match action:
                case SendSms():
                    results += await self._send_sms(rule, run, action)
                case SendEmail():
                    results += await self._send_email(rule, action)
                case OpenTicket():
                    results.append(await self._open_ticket(caller, run, action))
                case CallWebhook(endpoint_id):
                    endpoints.append(endpoint_id)
        return Acted(results, endpoints)

    async def _on_number(self, caller: Caller, action: NumberAction, msisdn: str) -> TargetResult:
        kind = rules.KIND_OF[type(action)]
        try:
            match action:
                case BlockNumbers(block_type):
                    await self._peers.set_block(caller, msisdn, block_type)
                case UnblockNumbers(block_type):
                    await self._peers.remove_block(caller, msisdn, block_type)
                case SetLimit(limit_kind, amount, limit_action):
                    await self._peers.set_limit(caller, msisdn, limit_kind, amount, limit_action)
        except DomainError as refused:
            return _failed(msisdn, refused, kind)
        return TargetResult(msisdn, operation_status.SUCCEEDED, "changed", f"{kind}: changed")

    async def _send_sms(
        self, rule: AutomationRule, run: RuleRun, action: SendSms
    ) -> list[TargetResult]:
        people = await self._people(rule, action.user_ids)
        recipients = [*action.msisdns]
        results: list[TargetResult] = []
        for user_id in action.user_ids:
            phone = people.get(user_id, Person(user_id, "", "")).phone
            if phone:
                recipients.append(phone)
            else:
                results.append(_not_reachable(f"sms:{user_id}", "no_phone", "no phone known"))
        for to in dict.fromkeys(recipients):
            target = f"sms:{to}"
            try:
                await self._sms.send_sms(to, action.text, reference=f"{run.id}:{to}")
            except DomainError as refused:
                results.append(_failed(target, refused, "send_sms"))
            else:
                results.append(TargetResult(target, operation_status.SUCCEEDED, "sent"))
        return results

    async def _send_email(self, rule: AutomationRule, action: SendEmail) -> list[TargetResult]:
        people = await self._people(rule, action.user_ids)
        recipients = [*action.addresses]
        results: list[TargetResult] = []
        for user_id in action.user_ids:
            email = people.get(user_id, Person(user_id, "", "")).email
            if email:
                recipients.append(email)
            else:
                results.append(_not_reachable(f"email:{user_id}", "no_email", "no e-mail known"))
        for to in dict.fromkeys(recipients):
            target = f"email:{to}"
            try:
                await self._mail.send_mail(to, action.subject, action.text)
            except DomainError as refused:
                results.append(_failed(target, refused, "send_email"))
            else:
                results.append(TargetResult(target, operation_status.SUCCEEDED, "sent"))
        return results

    async def _people(self, rule: AutomationRule, user_ids: Sequence[str]) -> dict[str, Person]:
        if not user_ids:
            return {}
        try:
            return await self._peers.people(rule.company_id, user_ids)
        except DomainError as error:
            # Unknown to identity (or it does not tell): those users are not reached.
            log.warning("people of a rule not found", extra={"error": error.message})
            return {}

    async def _open_ticket(self, caller: Caller, run: RuleRun, action: OpenTicket) -> TargetResult:
        try:
            ticket_id = await self._peers.open_ticket(
                caller, action.category, action.subject, action.text, run.event.msisdns
            )
        except DomainError as refused:
            return _failed("ticket", refused, "open_ticket")
        return TargetResult(f"ticket:{ticket_id}", operation_status.SUCCEEDED, "created")

    # ------------------------------------------------------------ records

    async def _record(self, rule: AutomationRule, run: RuleRun, acted: Acted) -> int:
        now = self._clock()
        operation_id = new_id(OPERATION_PREFIX)

        async def work(session: AsyncClientSession) -> int:
            results = [*acted.results, *await self._webhooks(rule, run, acted, now, session)]
            status = rules.run_status(results)
            ran = replace(
                run,
                outcome=rules.RAN,
                operation_id=operation_id,
                status=status,
                detail=_summary(results),
                finished_at=now,
            )
            if not await self._stores.runs.finish(ran, self._holder, session):
                return 0  # another worker took it over: its record stands
            event = operation_event(rule, ran, results, status)
            await self._outbox.add(session, event)
            return 1

        return await self._tx.run(work)

    async def _webhooks(
        self,
        rule: AutomationRule,
        run: RuleRun,
        acted: Acted,
        now: datetime,
        session: AsyncClientSession,
    ) -> list[TargetResult]:
        """The deliveries of the event to the chosen endpoints (the workers send them),
        one per endpoint and event: an endpoint that takes the event anyway has it already."""
        results = []
        for endpoint_id in dict.fromkeys(acted.webhook_endpoints):
            target = f"webhook:{endpoint_id}"
            try:
                endpoint = await self._stores.endpoints.get(rule.company_id, endpoint_id, session)
            except NotFound as missing:
                results.append(_failed(target, missing, "call_webhook"))
                continue
            done = await self._stores.deliveries.existing(
                rule.company_id, [message_id(run.event.id)], [endpoint.id], session
            )
            if done:
                results.append(TargetResult(target, operation_status.UNCHANGED, "already_sent"))
                continue
            await self._stores.deliveries.insert_new(
                [new_delivery(_public(run), endpoint, now)], session
            )
            results.append(TargetResult(target, operation_status.SUCCEEDED, "queued"))
        return results

    async def _pause(self, rule: AutomationRule, run: RuleRun, reason: str) -> int:
        now = self._clock()

        async def work(session: AsyncClientSession) -> int:
            await self._stores.rules.pause(
                rule.company_id, rule.id, rule.owner_id, reason, now, session
            )
            paused = replace(run, outcome=rules.PAUSED, detail=reason, finished_at=now)
            return int(await self._stores.runs.finish(paused, self._holder, session))

        return await self._tx.run(work)

    async def _finish(self, run: RuleRun, outcome: str, detail: str) -> int:
        ended = replace(run, outcome=outcome, detail=detail, finished_at=self._clock())
        return int(await self._stores.runs.finish(ended, self._holder))


def _failed(target: str, refused: DomainError, kind: str) -> TargetResult:
    return TargetResult(
        target, operation_status.FAILED, refused.reason.lower(), f"{kind}: {refused.message}"
    )


def _not_reachable(target: str, code: str, detail: str) -> TargetResult:
    return TargetResult(target, operation_status.FAILED, code, detail)


def _summary(results: Sequence[TargetResult]) -> str:
    failed = sum(1 for r in results if r.status == operation_status.FAILED)
    return f"{len(results)} targets, {failed} failed"


def _public(run: RuleRun) -> Event:
    """The firing event again, to hand to a webhook."""
    return Event(
        id=run.event.id,
        type=run.event.type,
        source=run.event.source,
        time=run.event.time,
        data=dict(run.event.data),
        subject=run.event.subject,
        company_id=run.company_id,
    )


def operation_message(
    rule: AutomationRule, run: RuleRun, results: Sequence[TargetResult], status: str
) -> common_pb2.OperationUpdated:
    """The run as an operation of the journal, told whole and finished."""
    failed = sum(1 for r in results if r.status == operation_status.FAILED)
    unchanged = sum(1 for r in results if r.status == operation_status.UNCHANGED)
    message = common_pb2.Operation(
        id=run.operation_id,
        type=rules.OPERATION_TYPE,
        status=operation_status.STATUS_VALUES[status],
        progress=100,
        total=len(results),
        done=len(results),
        failed=failed,
        unchanged=unchanged,
        created_by=rule.owner_id,
        company_id=rule.company_id,
        title=rules.OPERATION_TITLE.format(name=rule.name),
        service=SERVICE,
        permission=rules.MANAGE,
        results_url=f"/api/v1/operations/{run.operation_id}/results",
    )
    message.created_at.FromDatetime(run.at)
    finished = run.finished_at or run.at
    message.started_at.FromDatetime(finished)
    message.finished_at.FromDatetime(finished)
    made = []
    for seq, result in enumerate(results, start=1):
        made.append(
            common_pb2.OperationTargetResult(
                target=result.target,
                status=result.status,
                code=result.code,
                detail=result.detail,
                seq=seq,
            )
        )
        made[-1].decided_at.FromDatetime(finished)
    return common_pb2.OperationUpdated(operation=message, results=made)


def operation_event(
    rule: AutomationRule, run: RuleRun, results: Sequence[TargetResult], status: str
) -> Event:
    return new_event(
        OPERATION_UPDATED,
        operation_message(rule, run, results, status),
        source=SOURCE,
        company_id=rule.company_id,
        subject=run.operation_id,
    )
