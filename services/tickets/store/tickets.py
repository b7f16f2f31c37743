"""Tickets in MongoDB: one document per ticket, its history and attachments inside it.

Every read takes a `TicketScope` and puts it into the query itself: the company (the
operator's queue alone reads across companies) and, for a caller scoped to subtrees, the
nodes its permission holds at, matched against the ticket's `scope_nodes`. Another
company's ticket, or one outside the caller's subtrees, is simply not found. Writes check
the version they read (optimistic concurrency). Indexes are shaped for a real MongoDB:
equality fields first, then the sort key of the keyset pagination.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.errors import Conflict
from services.kit.keyset import NEWEST_CREATED_FIRST, KeysetOrder, keyset_page
from services.tickets.domain.tickets import (
    DUE_FIRST,
    Actor,
    AttachmentInfo,
    HistoryEntry,
    Ticket,
    TicketFilter,
)
from services.tickets.domain.workflow import AWAITING_OPERATOR

Doc = dict[str, Any]
# A page's position: (the sort key's time, the ticket id) of the last ticket shown.
After = tuple[datetime, str]


@dataclass(frozen=True)
class TicketScope:
    """Which tickets a read reaches: one company's (None: every company, the operator's
    queue), and within it the tickets at these subtree roots (None: all of them)."""

    company_id: str | None
    nodes: frozenset[str] | None = None

    @classmethod
    def operator(cls) -> TicketScope:
        return cls(None)


def _actor_doc(actor: Actor) -> Doc:
    return {"kind": actor.kind, "id": actor.id, "name": actor.name}


def _actor(doc: Doc) -> Actor:
    return Actor(doc.get("kind", ""), doc.get("id", ""), doc.get("name", ""))


def ticket_doc(ticket: Ticket) -> Doc:
    doc: Doc = {
        "_id": ticket.id,
        "company_id": ticket.company_id,
        "category": ticket.category,
        "subject": ticket.subject,
        "status": ticket.status,
        "msisdns": list(ticket.msisdns),
        "numbers": [{"msisdn": m, "path": list(p)} for m, p in ticket.numbers.items()],
        "scope_nodes": list(ticket.scope_nodes),
        "author": _actor_doc(ticket.author),
        "author_email": ticket.author_email,
        "assignee": ticket.assignee,
        "created_at": ticket.created_at,
        "due_at": ticket.due_at,
        "updated_at": ticket.updated_at,
        "closed_at": ticket.closed_at,
        "history": [
            {
                "at": e.at,
                "actor": _actor_doc(e.actor),
                "kind": e.kind,
                "status": e.status,
                "text": e.text,
                "attachment_id": e.attachment_id,
            }
            for e in ticket.history
        ],
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "uploaded_at": a.uploaded_at,
                "uploaded_by": _actor_doc(a.uploaded_by),
            }
            for a in ticket.attachments
        ],
        "version": ticket.version,
    }
    if ticket.settlement_request_id:  # unique where set (a sparse index)
        doc["settlement_request_id"] = ticket.settlement_request_id
    return doc


def ticket_from(doc: Doc) -> Ticket:
    return Ticket(
        id=doc["_id"],
        company_id=doc["company_id"],
        category=doc["category"],
        subject=doc["subject"],
        status=doc["status"],
        author=_actor(doc.get("author") or {}),
        author_email=doc.get("author_email", ""),
        created_at=doc["created_at"],
        due_at=doc["due_at"],
        updated_at=doc["updated_at"],
        numbers={n["msisdn"]: tuple(n.get("path", ())) for n in doc.get("numbers", ())},
        assignee=doc.get("assignee", ""),
        closed_at=doc.get("closed_at"),
        history=tuple(
            HistoryEntry(
                at=e["at"],
                actor=_actor(e.get("actor") or {}),
                kind=e["kind"],
                status=e.get("status", ""),
                text=e.get("text", ""),
                attachment_id=e.get("attachment_id", ""),
            )
            for e in doc.get("history", ())
        ),
        attachments=tuple(
            AttachmentInfo(
                id=a["id"],
                filename=a["filename"],
                content_type=a["content_type"],
                size=a["size"],
                uploaded_at=a["uploaded_at"],
                uploaded_by=_actor(a.get("uploaded_by") or {}),
            )
            for a in doc.get("attachments", ())
        ),
        settlement_request_id=doc.get("settlement_request_id", ""),
        version=doc.get("version", 0),
    )


def within(scope: TicketScope) -> Doc:
    """The query's part that no read of tickets goes without."""
    criteria: Doc = {}
    if scope.company_id is not None:
        criteria["company_id"] = scope.company_id
    if scope.nodes is not None:
        criteria["scope_nodes"] = {"$in": sorted(scope.nodes)}
    return criteria


def filtered(scope: TicketScope, ticket_filter: TicketFilter, now: datetime) -> Doc:
    criteria = within(scope)
    conditions: list[Doc] = []
    if ticket_filter.status:
        criteria["status"] = ticket_filter.status
    if ticket_filter.category:
        criteria["category"] = ticket_filter.category
    if ticket_filter.msisdn:
        criteria["msisdns"] = ticket_filter.msisdn
    if ticket_filter.query:
        # At most QUERY_MAX characters, escaped: a bounded, literal pattern.
        pattern = {"$regex": re.escape(ticket_filter.query), "$options": "i"}
        conditions.append(
            {"$or": [{"_id": ticket_filter.query}, {"subject": pattern}, {"history.text": pattern}]}
        )
    overdue = {"status": {"$in": sorted(AWAITING_OPERATOR)}, "due_at": {"$lt": now}}
    if ticket_filter.overdue is True:
        conditions.append(overdue)
    elif ticket_filter.overdue is False:
        conditions.append({"$nor": [overdue]})
    if conditions:
        criteria["$and"] = conditions
    return criteria


# The lists' orders: soonest due first, or newest first.
ORDERS = {DUE_FIRST: KeysetOrder("due_at", descending=False)}


class TicketStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._tickets = db["tickets"]

    async def ensure_indexes(self) -> None:
        for key in (None, "status", "category", "msisdns", "scope_nodes"):
            prefix = [("company_id", ASCENDING)] + ([(key, ASCENDING)] if key else [])
            await self._tickets.create_index(
                [*prefix, ("created_at", DESCENDING), ("_id", DESCENDING)]
            )
        await self._tickets.create_index(
            [("company_id", ASCENDING), ("due_at", ASCENDING), ("_id", ASCENDING)]
        )
        # The operator's queue across companies, soonest due first.
        await self._tickets.create_index(
            [("status", ASCENDING), ("due_at", ASCENDING), ("_id", ASCENDING)]
        )
        await self._tickets.create_index([("due_at", ASCENDING), ("_id", ASCENDING)])
        await self._tickets.create_index("settlement_request_id", unique=True, sparse=True)

    async def get(
        self, scope: TicketScope, ticket_id: str, session: AsyncClientSession | None = None
    ) -> Ticket | None:
        doc = await self._tickets.find_one({"_id": ticket_id, **within(scope)}, session=session)
        return ticket_from(doc) if doc else None

    async def page(
        self,
        scope: TicketScope,
        ticket_filter: TicketFilter,
        *,
        order: str,
        after: After | None,
        limit: int,
        now: datetime,
        extra: Doc | None = None,
    ) -> list[Ticket]:
        """One page in `order` after `after` (keyset); lists carry no history."""
        criteria = {**filtered(scope, ticket_filter, now), **(extra or {})}
        docs = await keyset_page(
            self._tickets,
            criteria,
            ORDERS.get(order, NEWEST_CREATED_FIRST),
            after=after,
            limit=limit,
            projection={"history": 0},
        )
        return [ticket_from(doc) for doc in docs]

    async def by_settlement_request(
        self, company_id: str, request_id: str, session: AsyncClientSession
    ) -> Ticket | None:
        doc = await self._tickets.find_one(
            {"company_id": company_id, "settlement_request_id": request_id}, session=session
        )
        return ticket_from(doc) if doc else None

    async def about_number(
        self, company_id: str, msisdn: str, session: AsyncClientSession
    ) -> list[Ticket]:
        cursor = self._tickets.find({"company_id": company_id, "msisdns": msisdn}, session=session)
        return [ticket_from(doc) async for doc in cursor]

    async def insert(self, ticket: Ticket, session: AsyncClientSession) -> None:
        await self._tickets.insert_one(ticket_doc(ticket), session=session)

    async def save(self, ticket: Ticket, session: AsyncClientSession) -> Ticket:
        """Write the changed ticket if nobody changed it since it was read."""
        saved = replace(ticket, version=ticket.version + 1)
        result = await self._tickets.replace_one(
            {"_id": ticket.id, "company_id": ticket.company_id, "version": ticket.version},
            ticket_doc(saved),
            session=session,
        )
        if result.matched_count != 1:
            raise Conflict("the ticket changed meanwhile; try again")
        return saved
