"""The company's automation rules (AutomationService) and their firings.

Who may: every call needs `automation.manage` for the whole company; another company's rule
is not found, never "forbidden". A rule is owned by the person who saved it last: it runs
with their rights (the runner checks them at each run), and nobody saves a rule whose
actions need a permission they do not hold. Only people own rules: an API key has no
rights of a person to lend.

Firings: `on_public_events` is a reaction of the events' consumer (service/reactions.py),
called in its transaction with a run of events. For each enabled, unpaused rule of an
event's company on the event's type it records a run — pending, for a worker
(service/automation_runner.py), or throttled when the rule fired too often in the last
minute — once per rule and event.
An event a rule's action caused fires nothing (public_events.came_from_rule): rules cannot
loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.errors import PermissionDenied
from services.kit.events import Event
from services.kit.ids import new_id
from services.kit.paging import decode_page_token, encode_page_token, page_size
from services.notifications.domain import rules, throttle
from services.notifications.domain.public_events import came_from_rule, msisdns_of
from services.notifications.domain.rules import (
    Action,
    AutomationRule,
    FiringEvent,
    RuleDraft,
    RuleRun,
)
from services.notifications.domain.webhooks import PUBLIC_EVENT_TYPES
from services.notifications.service.clock import utc_now
from services.notifications.store.rule_runs import RunStore
from services.notifications.store.rules import RuleStore

RULE_ID_PREFIX = "rul"
RUN_ID_PREFIX = "run"


class CallerAccess(Protocol):
    """What the caller may do (kit.caller_access.CallerAccessResolver asks identity)."""

    async def access(self, caller: Caller) -> Access: ...


@dataclass(frozen=True)
class RuleChanges:
    """A change of a rule: only the fields given (not None) change."""

    name: str | None = None
    trigger: str | None = None
    condition: str | None = None
    actions: Sequence[Action] | None = None
    enabled: bool | None = None


class AutomationCases:
    def __init__(
        self,
        rules_store: RuleStore,
        runs: RunStore,
        access: CallerAccess,
        *,
        clock: Callable[[], datetime] = utc_now,
        firings_per_minute: int = throttle.MAX_FIRINGS_PER_MINUTE,
    ) -> None:
        self._rules = rules_store
        self._runs = runs
        self._access = access
        self._clock = clock
        self._limit = firings_per_minute

    async def ensure_indexes(self) -> None:
        await self._rules.ensure_indexes()
        await self._runs.ensure_indexes()

    # ------------------------------------------------------------ the rules

    async def _manager(self, caller: Caller) -> Access:
        if caller.is_api_key:
            raise PermissionDenied("a rule runs with a person's rights: an API key cannot own one")
        access = await self._access.access(caller)
        access.require(rules.MANAGE)
        return access

    async def create_rule(self, caller: Caller, draft: RuleDraft) -> AutomationRule:
        access = await self._manager(caller)
        rule = rules.new_rule(
            draft,
            rule_id=new_id(RULE_ID_PREFIX),
            company_id=access.company_id,
            owner_id=caller.user_id or "",
            now=self._clock(),
        )
        rules.ensure_may_own(rule.actions, access)
        await self._rules.insert(rule)
        return rule

    async def list_rules(
        self, caller: Caller, size: int, token: str
    ) -> tuple[list[AutomationRule], str]:
        limit = page_size(size)
        after = decode_page_token(token)
        access = await self._manager(caller)
        found = await self._rules.page(
            access.company_id,
            (datetime.fromisoformat(after[0]), str(after[1])) if after else None,
            limit,
        )
        last = found[-1] if len(found) == limit else None
        return found, encode_page_token([last.created_at.isoformat(), last.id]) if last else ""

    async def get_rule(self, caller: Caller, rule_id: str) -> AutomationRule:
        access = await self._manager(caller)
        return await self._rules.get(access.company_id, rule_id.strip())

    async def update_rule(
        self, caller: Caller, rule_id: str, changes: RuleChanges
    ) -> AutomationRule:
        access = await self._manager(caller)
        rule = await self._rules.get(access.company_id, rule_id.strip())
        draft = RuleDraft(
            name=rule.name if changes.name is None else changes.name,
            trigger=rule.trigger if changes.trigger is None else changes.trigger,
            condition=rule.condition if changes.condition is None else changes.condition,
            actions=rule.actions if changes.actions is None else changes.actions,
            enabled=rule.enabled if changes.enabled is None else changes.enabled,
        )
        changed = rules.changed_rule(rule, draft, editor_id=caller.user_id or "", now=self._clock())
        rules.ensure_may_own(changed.actions, access)
        return await self._rules.save(changed)

    async def delete_rule(self, caller: Caller, rule_id: str) -> None:
        access = await self._manager(caller)
        await self._rules.delete(access.company_id, rule_id.strip())

    async def list_runs(
        self, caller: Caller, rule_id: str, size: int, token: str
    ) -> tuple[list[RuleRun], str]:
        limit = page_size(size)
        after = decode_page_token(token)
        access = await self._manager(caller)
        rule = await self._rules.get(access.company_id, rule_id.strip())  # NotFound: not theirs
        found = await self._runs.page(
            access.company_id,
            rule.id,
            (datetime.fromisoformat(after[0]), str(after[1])) if after else None,
            limit,
        )
        last = found[-1] if len(found) == limit else None
        return found, encode_page_token([last.at.isoformat(), last.id]) if last else ""

    # ------------------------------------------------------------ firings

    async def on_public_events(self, events: Sequence[Event], session: AsyncClientSession) -> None:
        """A PublicEventReaction: records the firings a run of events makes, in the
        consumer's transaction; idempotent per rule and event. One query per company and
        event type finds the rules (none, mostly), one the firings recorded already."""
        firing: dict[tuple[str, str], list[Event]] = {}
        for event in events:
            if came_from_rule(event) or not event.company_id:
                continue
            if event.type in PUBLIC_EVENT_TYPES:
                firing.setdefault((event.company_id, event.type), []).append(event)
        now = self._clock()
        runs: list[RuleRun] = []
        for (company_id, trigger), run_of_events in firing.items():
            found = await self._rules.firing_on(company_id, trigger, session)
            if not found:
                continue
            done = await self._runs.fired_already(
                [rule.id for rule, _ in found], [e.id for e in run_of_events], session
            )
            for rule, recent in found:
                runs += await self._fire(rule, recent, run_of_events, done, now, session)
        await self._runs.insert(runs, session)

    async def _fire(
        self,
        rule: AutomationRule,
        recent: list[datetime],
        events: Sequence[Event],
        done: set[tuple[str, str]],
        now: datetime,
        session: AsyncClientSession,
    ) -> list[RuleRun]:
        """The rule's runs on these events, in order: each one pending while the rule may
        fire, throttled past its limit; the rule's recent firings noted once."""
        runs: list[RuleRun] = []
        fired = False
        for event in events:
            if (rule.id, event.id) in done:
                continue
            done.add((rule.id, event.id))  # an event delivered twice in the run fires once
            decision = throttle.may_fire(recent, now, limit=self._limit)
            if decision.may_run:
                recent = throttle.firings_to_keep([*recent, now], now, limit=self._limit)
                fired = True
                runs.append(_firing(rule, event, now, rules.PENDING, ""))
            else:
                why = f"more than {self._limit} runs a minute; runs again from {decision.retry_at}"
                runs.append(_firing(rule, event, now, rules.THROTTLED, why, finished_at=now))
        if fired:
            await self._rules.note_firings(rule.company_id, rule.id, recent, session)
        return runs


def _firing(
    rule: AutomationRule,
    event: Event,
    now: datetime,
    outcome: str,
    detail: str,
    finished_at: datetime | None = None,
) -> RuleRun:
    return RuleRun(
        id=new_id(RUN_ID_PREFIX),
        company_id=rule.company_id,
        rule_id=rule.id,
        event=FiringEvent(
            id=event.id,
            type=event.type,
            time=event.time,
            data=dict(event.data),
            subject=event.subject,
            source=event.source,
            msisdns=msisdns_of(event),
        ),
        at=now,
        outcome=outcome,
        detail=detail,
        finished_at=finished_at,
    )
