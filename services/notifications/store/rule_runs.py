"""Automation rules' runs in MongoDB: one document per firing of a rule by an event.

The unique index on (rule, event) makes a firing happen once per event: an event handed
over again (the broker delivers at least once) finds its run there. A pending run waits for
a worker; several worker replicas share them, each claiming one with a lease
(`find_one_and_update` on a free or expired lease), as webhook deliveries are claimed: a
worker that dies leaves a lease that expires, and the run is taken again by another.

Every read a company's caller can make carries the company; the workers' claim spans
companies (they serve them all) and passes the company on to every write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.errors import NotFound
from services.kit.job_leases import claim_next
from services.kit.keyset import NEWEST_FIRST, keyset_page
from services.notifications.domain.rules import PENDING, FiringEvent, RuleRun

Doc = dict[str, Any]
RUNS = "automation_runs"


def run_doc(run: RuleRun) -> Doc:
    event = run.event
    return {
        "_id": run.id,
        "company_id": run.company_id,
        "rule_id": run.rule_id,
        "event_id": event.id,
        "event": {
            "type": event.type,
            "time": event.time,
            "data": dict(event.data),
            "subject": event.subject,
            "source": event.source,
            "msisdns": list(event.msisdns),
        },
        "at": run.at,
        "outcome": run.outcome,
        "operation_id": run.operation_id,
        "status": run.status,
        "detail": run.detail,
        "finished_at": run.finished_at,
        "lease_holder": None,
        "lease_until": None,
    }


def run_from(doc: Doc) -> RuleRun:
    event = doc["event"]
    return RuleRun(
        id=doc["_id"],
        company_id=doc["company_id"],
        rule_id=doc["rule_id"],
        event=FiringEvent(
            id=doc["event_id"],
            type=event["type"],
            time=event["time"],
            data=event.get("data", {}),
            subject=event.get("subject"),
            source=event.get("source", ""),
            msisdns=tuple(event.get("msisdns", ())),
        ),
        at=doc["at"],
        outcome=doc["outcome"],
        operation_id=doc.get("operation_id", ""),
        status=doc.get("status", ""),
        detail=doc.get("detail", ""),
        finished_at=doc.get("finished_at"),
    )


class RunStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._runs = db[RUNS]

    async def ensure_indexes(self) -> None:
        await self._runs.create_index(
            [("rule_id", ASCENDING), ("event_id", ASCENDING)], unique=True
        )
        # A rule's runs, newest first; the pending ones for the workers.
        await self._runs.create_index(
            [("company_id", ASCENDING), ("rule_id", ASCENDING), ("at", DESCENDING)]
        )
        await self._runs.create_index([("outcome", ASCENDING), ("at", ASCENDING)])

    async def fired_already(
        self,
        rule_ids: Sequence[str],
        event_ids: Sequence[str],
        session: AsyncClientSession | None = None,
    ) -> set[tuple[str, str]]:
        """Which of these rules fired on which of these events already, as (rule, event)."""
        cursor = self._runs.find(
            {"rule_id": {"$in": list(rule_ids)}, "event_id": {"$in": list(event_ids)}},
            {"rule_id": 1, "event_id": 1},
            session=session,
        )
        return {(doc["rule_id"], doc["event_id"]) async for doc in cursor}

    async def insert(
        self, runs: Sequence[RuleRun], session: AsyncClientSession | None = None
    ) -> None:
        """New firings. A concurrent insert of the same one fails on the unique index,
        and with it the consumer's transaction: the event is handed over again and then
        finds the run there."""
        if runs:
            await self._runs.insert_many([run_doc(run) for run in runs], session=session)

    async def get(self, company_id: str, run_id: str) -> RuleRun:
        doc = await self._runs.find_one({"_id": run_id, "company_id": company_id})
        if doc is None:
            raise NotFound("no such run")
        return run_from(doc)

    async def page(
        self, company_id: str, rule_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[RuleRun]:
        """The rule's runs, newest first, after the key (at, id) of the page before."""
        criteria: Doc = {"company_id": company_id, "rule_id": rule_id}
        docs = await keyset_page(self._runs, criteria, NEWEST_FIRST, after=after, limit=limit)
        return [run_from(doc) for doc in docs]

    async def claim(self, now: datetime, holder: str, lease_until: datetime) -> RuleRun | None:
        """The oldest pending run that nobody holds (or whose holder's lease ran out), now
        held by `holder`; None when there is none."""
        doc = await claim_next(
            self._runs,
            {"outcome": PENDING},
            order=[("at", ASCENDING), ("_id", ASCENDING)],
            now=now,
            until=lease_until,
            holder=holder,
        )
        return None if doc is None else run_from(doc)

    async def finish(
        self, run: RuleRun, holder: str, session: AsyncClientSession | None = None
    ) -> bool:
        """Records how a pending run ended, if `holder` still holds it (a worker whose
        lease ran out and was taken over records nothing); True if it did."""
        result = await self._runs.update_one(
            {
                "_id": run.id,
                "company_id": run.company_id,
                "outcome": PENDING,
                "lease_holder": holder,
            },
            {
                "$set": {
                    "outcome": run.outcome,
                    "operation_id": run.operation_id,
                    "status": run.status,
                    "detail": run.detail,
                    "finished_at": run.finished_at,
                    "lease_holder": None,
                    "lease_until": None,
                }
            },
            session=session,
        )
        return result.modified_count == 1
