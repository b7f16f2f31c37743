"""The company's audit log (`audit_events`), newest first, one entry per event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.identity.domain.audit import AuditEntry, AuditQuery
from services.identity.store.mapping import Doc, from_doc, to_doc
from services.kit.keyset import NEWEST_FIRST, keyset_page

# The list's keyset: (at, id) of the last entry seen, newest first.
AuditKey = tuple[datetime, str]


class AuditStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._entries = db["audit_events"]

    async def ensure_indexes(self) -> None:
        # Equality first, then the sort key: the whole log, and the log filtered by actor
        # or by type, each read in order from its own index (walked backwards: newest
        # first). Ascending keys, because the embedded server drops the inclusive end of a
        # range scanned in index order; the window [since, until) never needs one.
        for equality in ((), ("actor",), ("type",)):
            await self._entries.create_index(
                [
                    ("company_id", ASCENDING),
                    *((name, ASCENDING) for name in equality),
                    ("at", ASCENDING),
                    ("_id", ASCENDING),
                ]
            )

    async def add(self, entry: AuditEntry, session: AsyncClientSession) -> None:
        await self.add_all([entry], session)

    async def add_all(self, entries: Sequence[AuditEntry], session: AsyncClientSession) -> None:
        """The entries in one round trip. Upserts, not inserts: should an event ever come
        twice, the log keeps one entry and the consumer's transaction does not fail on a
        duplicate key."""
        upserts = []
        for entry in entries:
            doc = to_doc(entry)
            entry_id = doc.pop("_id")
            upserts.append(UpdateOne({"_id": entry_id}, {"$setOnInsert": doc}, upsert=True))
        if upserts:
            await self._entries.bulk_write(upserts, session=session)

    async def page(
        self, company_id: str, query: AuditQuery, *, after: AuditKey | None, limit: int
    ) -> list[AuditEntry]:
        criteria: Doc = {"company_id": company_id}
        if query.actor:
            criteria["actor"] = query.actor
        if query.type:
            criteria["type"] = query.type
        window: Doc = {}
        if query.since is not None:
            window["$gte"] = query.since
        if query.until is not None:
            window["$lt"] = query.until
        if window:
            criteria["at"] = window
        docs = await keyset_page(self._entries, criteria, NEWEST_FIRST, after=after, limit=limit)
        return [entry for doc in docs if (entry := from_doc(AuditEntry, doc))]
