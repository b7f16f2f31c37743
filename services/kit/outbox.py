"""The transactional outbox and its relay.

`Outbox.add` writes events into the service's `outbox` collection inside the caller's
transaction, so an event exists if and only if its state change was committed.
A run of events of one type written together (a bulk batch's per-number events) is one
outbox document and one message, a CloudEvents batch (services/kit/events.py): two writes
and one publish per run instead of per event. `OutboxRelay` publishes pending events in
order of writing, waits for the broker's
confirms, then marks them sent. It is at-least-once (a crash between confirm and mark
re-publishes; consumers dedupe by event id). With several replicas running, a lease in
the `relay_leases` collection lets exactly one relay publish at a time; the others wait
and take over within one lease period if the holder dies.

Each event is published within the trace of the call that wrote it (its CloudEvents
`traceparent`, kept beside the body), so the broker's instrumentation makes its publish
span a child of that call and hands the context on to every consumer; the relay's own
polling is traced by nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.broker import EventPublisher
from services.kit.events import (
    BATCH_CONTENT_TYPE,
    CONTENT_TYPE,
    Event,
    decode_batch,
    decode_event,
    encode_batch,
    encode_event,
)
from services.kit.metrics import EVENTS_PUBLISHED, OUTBOX_OLDEST_AGE, OUTBOX_PENDING
from services.kit.named_leases import NamedLeases
from services.kit.tracing import untraced, within

log = logging.getLogger(__name__)

OUTBOX = "outbox"
LEASES = "relay_leases"
# The most events one message carries: a bulk batch's run fits; a message stays well
# under the broker's frame and a consumer's transaction stays short.
MOST_EVENTS_PER_MESSAGE = 500


def runs_of_one_type(events: Sequence[Event]) -> list[list[Event]]:
    """Consecutive events of one type and one trace, together (order kept)."""
    runs: list[list[Event]] = []
    for event in events:
        last = runs[-1] if runs else None
        if (
            last is not None
            and last[0].type == event.type
            and last[0].traceparent == event.traceparent
            and len(last) < MOST_EVENTS_PER_MESSAGE
        ):
            last.append(event)
        else:
            runs.append([event])
    return runs


def _document(run: list[Event]) -> dict[str, Any]:
    first = run[0]
    document: dict[str, Any] = {
        "_id": ObjectId(),  # ordered by time of writing, for the relay
        "type": first.type,
        "traceparent": first.traceparent,
        "created_at": first.time,
        "sent_at": None,
    }
    if len(run) == 1:
        return document | {"event_id": first.id, "body": encode_event(first)}
    return document | {"event_ids": [e.id for e in run], "body": encode_batch(run)}


def events_of(document: dict[str, Any]) -> list[Event]:
    """The events an outbox document carries (one, or a batch's)."""
    if "event_ids" in document:
        return decode_batch(document["body"])
    return [decode_event(document["body"])]


class Outbox:
    def __init__(self, db: AsyncDatabase) -> None:
        self._collection = db[OUTBOX]

    async def ensure_indexes(self) -> None:
        await self._collection.create_index([("sent_at", ASCENDING), ("_id", ASCENDING)])

    async def add(self, session: AsyncClientSession | None, *events: Event) -> None:
        """`session` None: a plain insert, for events that record no state change (a
        denied request); the relay finds them at its next pass."""
        if not events:
            return
        documents = [_document(run) for run in runs_of_one_type(events)]
        await self._collection.insert_many(documents, session=session)


class OutboxRelay:
    def __init__(
        self,
        db: AsyncDatabase,
        publisher: EventPublisher,
        *,
        batch_size: int = 200,
        idle_poll_seconds: float = 0.5,
        lease_seconds: float = 10.0,
        retention: timedelta = timedelta(days=1),
    ) -> None:
        self._outbox = db[OUTBOX]
        self._leases = NamedLeases(db[LEASES])
        self._publisher = publisher
        self._batch_size = batch_size
        self._idle_poll = idle_poll_seconds
        self._lease = lease_seconds
        self._retention = retention
        self._holder = secrets.token_hex(8)
        self._wake = asyncio.Event()
        self._lease_renewed_at = datetime.min.replace(tzinfo=UTC)

    def wake(self) -> None:
        """Called after a commit that wrote events: publish now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        last_cleanup = datetime.now(UTC)
        while True:
            self._wake.clear()  # a commit from here on wakes the next wait at once
            try:
                with untraced():
                    published = await self.relay_once()
                    if datetime.now(UTC) - last_cleanup > timedelta(minutes=5):
                        await self._delete_old_sent()
                        last_cleanup = datetime.now(UTC)
            except Exception as error:
                # The database or broker is away (or a publish timed out): the events stay
                # pending and go out on a later pass; the relay itself must never die.
                log.warning("outbox relay paused", extra={"error": str(error)})
                published = 0
            if published == 0:
                await self._sleep_until_woken()

    async def relay_once(self) -> int:
        """Publish one batch if this replica holds the lease; returns how many were sent."""
        if not await self._hold_lease():
            return 0
        pending = (
            await self._outbox.find({"sent_at": None})
            .sort("_id", ASCENDING)
            .limit(self._batch_size)
            .to_list()
        )
        if not pending:
            return 0
        # Confirms are awaited concurrently; a failure leaves the batch pending (re-sent).
        await asyncio.gather(*(self._publish(d) for d in pending))
        await self._outbox.update_many(
            {"_id": {"$in": [d["_id"] for d in pending]}},
            {"$set": {"sent_at": datetime.now(UTC)}},
        )
        for document in pending:
            EVENTS_PUBLISHED.labels(document["type"]).inc(len(document.get("event_ids", [0])))
        return len(pending)

    async def _publish(self, document: dict) -> None:
        if "event_ids" in document:  # a batch: its message is named by its document
            message_id, content_type = f"batch:{document['_id']}", BATCH_CONTENT_TYPE
        else:
            message_id, content_type = document["event_id"], CONTENT_TYPE
        with within(document.get("traceparent")):
            await self._publisher.publish(
                message_id, document["type"], document["body"], content_type=content_type
            )

    async def measure_backlog(self) -> None:
        """The metrics of what waits: how many events are not published, and since when."""
        pending = {"sent_at": None}
        OUTBOX_PENDING.set(await self._outbox.count_documents(pending))
        oldest = await self._outbox.find_one(pending, sort=[("_id", ASCENDING)])
        written_at = oldest.get("created_at") if oldest else None
        if written_at is None:
            OUTBOX_OLDEST_AGE.set(0)
            return
        OUTBOX_OLDEST_AGE.set((datetime.now(UTC) - written_at.replace(tzinfo=UTC)).total_seconds())

    async def _hold_lease(self) -> bool:
        """Whether this replica holds the relay's lease, renewed a third of the way into it
        (the kit's named leases: a renewal is one conditional write, a take-over two)."""
        now = datetime.now(UTC)
        if now - self._lease_renewed_at < timedelta(seconds=self._lease / 3):
            return True
        until = now + timedelta(seconds=self._lease)
        if not await self._leases.hold(OUTBOX, self._holder, now, until):
            self._lease_renewed_at = datetime.min.replace(tzinfo=UTC)
            return False
        self._lease_renewed_at = now
        return True

    async def _sleep_until_woken(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._idle_poll)

    async def _delete_old_sent(self) -> None:
        cutoff = datetime.now(UTC) - self._retention
        await self._outbox.delete_many({"sent_at": {"$ne": None, "$lt": cutoff}})
