"""Notices to people in MongoDB, in two steps.

- An announcement: one per public event that people are to hear of (its `_id` is the
  event's id, so an event handled again finds it there). Written in the events consumer's
  transaction, it names the kind and the audience; nobody is asked anything yet.
- A notice: one per (event, user, channel), unique, made by the worker from an
  announcement once it knows who the people are; then sent.

Workers share both with leases (`find_one_and_update` on a free or expired lease): two
workers never work one announcement or send one notice at the same time; a worker that
dies leaves a lease that expires, and another carries on.

The workers' queries span companies (they serve them all) and pass the company on to every
write; every notice carries its company.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.kit.job_leases import claim_next
from services.kit.mongo import DUPLICATE_KEY

ANNOUNCEMENTS = "people_announcements"
NOTICES = "people_notices"

PENDING = "pending"
DONE = "done"  # an announcement turned into its notices
SENT = "sent"
FAILED = "failed"

Doc = dict[str, Any]


@dataclass(frozen=True)
class Announcement:
    event_id: str
    company_id: str
    kind: str
    public_type: str
    data: Doc
    event_time: datetime
    company_wide: tuple[str, ...]
    user_ids: tuple[str, ...]
    attempts: int = 0


@dataclass(frozen=True)
class Notice:
    id: str
    event_id: str
    company_id: str
    user_id: str
    kind: str
    channel: str
    to: str
    subject: str
    text: str
    attempts: int = 0


def _announcement(doc: Doc) -> Announcement:
    return Announcement(
        event_id=doc["_id"],
        company_id=doc["company_id"],
        kind=doc["kind"],
        public_type=doc["public_type"],
        data=doc.get("data") or {},
        event_time=doc["event_time"],
        company_wide=tuple(doc.get("company_wide") or ()),
        user_ids=tuple(doc.get("user_ids") or ()),
        attempts=doc.get("attempts", 0),
    )


def _notice(doc: Doc) -> Notice:
    return Notice(
        id=doc["_id"],
        event_id=doc["event_id"],
        company_id=doc["company_id"],
        user_id=doc["user_id"],
        kind=doc["kind"],
        channel=doc["channel"],
        to=doc["to"],
        subject=doc["subject"],
        text=doc["text"],
        attempts=doc.get("attempts", 0),
    )


def _due(now: datetime) -> Doc:
    return {"state": PENDING, "next_attempt_at": {"$lte": now}}


_EARLIEST_DUE = [("next_attempt_at", ASCENDING)]


def _announcement_doc(announcement: Announcement) -> Doc:
    return {
        "_id": announcement.event_id,
        "company_id": announcement.company_id,
        "kind": announcement.kind,
        "public_type": announcement.public_type,
        "data": announcement.data,
        "event_time": announcement.event_time,
        "company_wide": list(announcement.company_wide),
        "user_ids": list(announcement.user_ids),
        "state": PENDING,
        "attempts": 0,
        "next_attempt_at": announcement.event_time,
        "lease_until": None,
    }


class NoticeStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._announcements = db[ANNOUNCEMENTS]
        self._notices = db[NOTICES]

    async def ensure_indexes(self) -> None:
        await self._announcements.create_index(
            [("state", ASCENDING), ("next_attempt_at", ASCENDING)]
        )
        await self._notices.create_index(
            [("event_id", ASCENDING), ("user_id", ASCENDING), ("channel", ASCENDING)],
            unique=True,
        )
        await self._notices.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)])
        await self._notices.create_index(
            [("company_id", ASCENDING), ("user_id", ASCENDING), ("created_at", ASCENDING)]
        )

    # --- announcements (the consumer's transaction) ---

    async def announce(
        self, announcements: Sequence[Announcement], session: AsyncClientSession
    ) -> int:
        """Records the announcements of events not announced already (a duplicate insert
        would abort the consumer's transaction, so they are looked for first); how many
        were new."""
        wanted = {a.event_id: a for a in announcements}  # a repeated event once
        if not wanted:
            return 0
        cursor = self._announcements.find(
            {"_id": {"$in": list(wanted)}}, {"_id": 1}, session=session
        )
        for doc in await cursor.to_list():
            wanted.pop(doc["_id"], None)
        if wanted:
            await self._announcements.insert_many(
                [_announcement_doc(a) for a in wanted.values()], session=session
            )
        return len(wanted)

    # --- the worker: announcements into notices ---

    async def claim_announcement(self, now: datetime, lease: timedelta) -> Announcement | None:
        doc = await claim_next(
            self._announcements, _due(now), order=_EARLIEST_DUE, now=now, until=now + lease
        )
        return _announcement(doc) if doc else None

    async def add_notices(self, notices: Sequence[Doc]) -> None:
        """Inserts the notices; one made already (a worker that died after inserting it,
        before marking its announcement done) is skipped by the unique index."""
        if not notices:
            return
        try:
            await self._notices.insert_many(list(notices), ordered=False)
        except BulkWriteError as error:
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", ())):
                raise

    async def announcement_done(self, announcement: Announcement, now: datetime) -> None:
        await self._announcements.update_one(
            {"_id": announcement.event_id, "company_id": announcement.company_id},
            {"$set": {"state": DONE, "done_at": now, "lease_until": None}},
        )

    async def announcement_later(
        self, announcement: Announcement, at: datetime, *, give_up: bool, error: str
    ) -> None:
        await self._announcements.update_one(
            {"_id": announcement.event_id, "company_id": announcement.company_id},
            {
                "$set": {
                    "state": FAILED if give_up else PENDING,
                    "next_attempt_at": at,
                    "lease_until": None,
                    "error": error[:200],
                },
                "$inc": {"attempts": 1},
            },
        )

    # --- the worker: sending ---

    async def claim_notice(self, now: datetime, lease: timedelta) -> Notice | None:
        doc = await claim_next(
            self._notices, _due(now), order=_EARLIEST_DUE, now=now, until=now + lease
        )
        return _notice(doc) if doc else None

    async def sent(self, notice: Notice, now: datetime) -> None:
        await self._notices.update_one(
            {"_id": notice.id, "company_id": notice.company_id},
            {"$set": {"state": SENT, "sent_at": now, "lease_until": None}},
        )

    async def later(self, notice: Notice, at: datetime, *, give_up: bool, error: str) -> None:
        await self._notices.update_one(
            {"_id": notice.id, "company_id": notice.company_id},
            {
                "$set": {
                    "state": FAILED if give_up else PENDING,
                    "next_attempt_at": at,
                    "lease_until": None,
                    "error": error[:200],
                },
                "$inc": {"attempts": 1},
            },
        )

    async def of_event(self, company_id: str, event_id: str) -> list[Notice]:
        cursor = self._notices.find({"company_id": company_id, "event_id": event_id})
        return [_notice(doc) async for doc in cursor]
