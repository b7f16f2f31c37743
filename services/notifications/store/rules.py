"""Automation rules in MongoDB: one document per rule, its actions inside it.

Every query carries the company: another company's rule is simply not found. A person's
change checks the version it was made from (optimistic concurrency). What the service
records by itself — the times a rule fired (its throttle), a pause — is written without
the version, so that it never refuses a person's change nor is refused by one; a pause
only holds while the rule has the owner whose rights were found wanting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.errors import Conflict, NotFound
from services.notifications.domain.rules import KIND_OF, Action, AutomationRule

Doc = dict[str, Any]
RULES = "automation_rules"
_ACTION_TYPES: dict[str, type] = {kind: cls for cls, kind in KIND_OF.items()}


def action_doc(action: Action) -> Doc:
    # The action's own fields apart from its kind: a limit has a `kind` of its own.
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(action).items()}
    return {"kind": KIND_OF[type(action)], "fields": fields}


def action_from(doc: Doc) -> Action:
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in doc["fields"].items()}
    action: Action = _ACTION_TYPES[doc["kind"]](**fields)
    return action


def rule_doc(rule: AutomationRule) -> Doc:
    return {
        "_id": rule.id,
        "company_id": rule.company_id,
        "name": rule.name,
        "trigger": rule.trigger,
        "condition": rule.condition,
        "actions": [action_doc(a) for a in rule.actions],
        "enabled": rule.enabled,
        "owner_id": rule.owner_id,
        "paused_reason": rule.paused_reason,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
        "version": rule.version,
    }


def rule_from(doc: Doc) -> AutomationRule:
    return AutomationRule(
        id=doc["_id"],
        company_id=doc["company_id"],
        name=doc["name"],
        trigger=doc["trigger"],
        condition=doc.get("condition", ""),
        actions=tuple(action_from(a) for a in doc.get("actions", ())),
        enabled=doc.get("enabled", True),
        owner_id=doc["owner_id"],
        created_at=doc["created_at"],
        updated_at=doc.get("updated_at") or doc["created_at"],
        paused_reason=doc.get("paused_reason", ""),
        version=doc.get("version", 0),
    )


def _not_found(rule_id: str) -> NotFound:
    return NotFound("no such automation rule", {"rule_id": "no such rule"})


class RuleStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._rules = db[RULES]

    async def ensure_indexes(self) -> None:
        # The page of a company's rules, and the rules an event fires.
        await self._rules.create_index([("company_id", ASCENDING), ("created_at", ASCENDING)])
        await self._rules.create_index(
            [("company_id", ASCENDING), ("trigger", ASCENDING), ("enabled", ASCENDING)]
        )

    async def insert(self, rule: AutomationRule, session: AsyncClientSession | None = None) -> None:
        await self._rules.insert_one(rule_doc(rule), session=session)

    async def get(
        self, company_id: str, rule_id: str, session: AsyncClientSession | None = None
    ) -> AutomationRule:
        doc = await self._rules.find_one(
            {"_id": rule_id, "company_id": company_id}, session=session
        )
        if doc is None:
            raise _not_found(rule_id)
        return rule_from(doc)

    async def page(
        self, company_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[AutomationRule]:
        """The company's rules, oldest first, after the key (created_at, id) of the last
        one of the page before."""
        criteria: Doc = {"company_id": company_id}
        if after is not None:
            at, rule_id = after
            criteria["$or"] = [
                {"created_at": {"$gt": at}},
                {"created_at": at, "_id": {"$gt": rule_id}},
            ]
        cursor = (
            self._rules.find(criteria)
            .sort([("created_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [rule_from(doc) async for doc in cursor]

    async def firing_on(
        self, company_id: str, trigger: str, session: AsyncClientSession | None = None
    ) -> list[tuple[AutomationRule, list[datetime]]]:
        """The company's enabled, unpaused rules on this trigger, each with the times it
        fired lately (its throttle)."""
        cursor = self._rules.find(
            {"company_id": company_id, "trigger": trigger, "enabled": True, "paused_reason": ""},
            session=session,
        ).sort("_id", ASCENDING)
        return [(rule_from(doc), list(doc.get("recent_firings", ()))) async for doc in cursor]

    async def note_firings(
        self,
        company_id: str,
        rule_id: str,
        kept: list[datetime],
        session: AsyncClientSession | None = None,
    ) -> None:
        await self._rules.update_one(
            {"_id": rule_id, "company_id": company_id},
            {"$set": {"recent_firings": kept}},
            session=session,
        )

    async def save(
        self, rule: AutomationRule, session: AsyncClientSession | None = None
    ) -> AutomationRule:
        """A person's change, written only over the version it was made from."""
        saved = replace(rule, version=rule.version + 1)
        fields = rule_doc(saved)
        del fields["_id"], fields["company_id"], fields["created_at"]
        result = await self._rules.update_one(
            {"_id": rule.id, "company_id": rule.company_id, "version": rule.version},
            {"$set": fields},
            session=session,
        )
        if result.matched_count == 0:
            await self.get(rule.company_id, rule.id, session)  # NotFound if gone
            raise Conflict("the rule was changed meanwhile; read it again")
        return saved

    async def delete(
        self, company_id: str, rule_id: str, session: AsyncClientSession | None = None
    ) -> None:
        result = await self._rules.delete_one(
            {"_id": rule_id, "company_id": company_id}, session=session
        )
        if result.deleted_count == 0:
            raise _not_found(rule_id)

    async def pause(
        self,
        company_id: str,
        rule_id: str,
        owner_id: str,
        reason: str,
        now: datetime,
        session: AsyncClientSession | None = None,
    ) -> bool:
        """Pauses the rule while `owner_id` owns it (an edit meanwhile made someone else
        its owner, whose rights the next run checks); True if it did."""
        result = await self._rules.update_one(
            {"_id": rule_id, "company_id": company_id, "owner_id": owner_id},
            {"$set": {"paused_reason": reason, "updated_at": now}, "$inc": {"version": 1}},
            session=session,
        )
        return result.modified_count == 1
