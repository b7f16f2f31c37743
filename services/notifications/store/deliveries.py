"""Webhook deliveries in MongoDB: one document per (endpoint, event), its attempts inside it.

The unique index on (company, endpoint, message id) is what makes a delivery happen once
per event: an event handed to fan-out again finds its deliveries already there.

Several worker replicas share the work by endpoint: a worker sends an endpoint's
deliveries only while it holds the endpoint's lease (`hold_endpoint`, a document of
`webhook_endpoint_leases` renewed every half lease), so a delivery needs no claim of its
own: writing one into each delivery before its attempt was a second rewrite of the
delivery and its six index entries, beside the attempt's. Before an attempt the worker
reads its deliveries again (`still_due`), for those another worker sent while this one did
not hold the endpoint. A worker that dies leaves a lease that runs out, and its deliveries
are attempted again by the next holder: at least once, never by two at the same time
while the lease runs.

A delivery is held on its own (`lease_holder`, `lease_until`) only by a company's "send it
again" (`restart`), which attempts it outside the workers.

Every read a company's caller can make carries the company; the workers' queries span
companies (they serve them all) and pass the company on to every write.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

from services.kit.errors import NotFound
from services.kit.grouped_writes import GroupedWrites
from services.kit.job_leases import unheld
from services.kit.keyset import NEWEST_CREATED_FIRST, keyset_page
from services.kit.mongo import DUPLICATE_KEY
from services.kit.named_leases import NamedLeases
from services.notifications.domain.webhooks import FAILED, PENDING, Attempt, Delivery

Doc = dict[str, Any]
DELIVERIES = "webhook_deliveries"
ENDPOINT_LEASES = "webhook_endpoint_leases"
# Indexes of earlier versions, dropped where they are found.
RETIRED_INDEXES = (
    "endpoint_id_1_message_id_1",
    "endpoint_id_1_ordering_key_1_state_1_event_time_1",
)
# A page of an endpoint's deliveries starts after this one: (created_at, id), newest first.
After = tuple[datetime, str]


def _attempt_doc(attempt: Attempt) -> Doc:
    return {
        "at": attempt.at,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "latency_ms": attempt.latency_ms,
        "answer": attempt.answer,
    }


def _attempt(doc: Doc) -> Attempt:
    return Attempt(
        at=doc["at"],
        status_code=doc.get("status_code"),
        error=doc.get("error", ""),
        latency_ms=doc.get("latency_ms", 0),
        answer=doc.get("answer", ""),
    )


def _due_at(now: datetime) -> Doc:
    """The criterion of a delivery a worker may attempt at `now`: pending, due, and not
    held by a company's "send it again"."""
    return {"state": PENDING, "next_attempt_at": {"$lte": now}, **unheld(now)}


def delivery_doc(delivery: Delivery) -> Doc:
    return {
        "_id": delivery.id,
        "company_id": delivery.company_id,
        "endpoint_id": delivery.endpoint_id,
        "message_id": delivery.message_id,
        "event_type": delivery.event_type,
        "event_time": delivery.event_time,
        "payload": delivery.payload,
        "ordering_key": delivery.ordering_key,
        "state": delivery.state,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "attempts": [_attempt_doc(a) for a in delivery.attempts],
        "series_started_at": delivery.series_started_at,
        "series_attempts": delivery.series_attempts,
        "failure": delivery.failure,
        "lease_holder": None,
        "lease_until": None,
    }


def delivery_from(doc: Doc) -> Delivery:
    return Delivery(
        id=doc["_id"],
        company_id=doc["company_id"],
        endpoint_id=doc["endpoint_id"],
        message_id=doc["message_id"],
        event_type=doc["event_type"],
        event_time=doc["event_time"],
        payload=doc["payload"],
        ordering_key=doc.get("ordering_key"),
        state=doc["state"],
        created_at=doc["created_at"],
        next_attempt_at=doc.get("next_attempt_at"),
        attempts=tuple(_attempt(a) for a in doc.get("attempts", ())),
        series_started_at=doc.get("series_started_at"),
        series_attempts=doc.get("series_attempts", 0),
        failure=doc.get("failure", ""),
    )


class DeliveryStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._deliveries = db[DELIVERIES]
        self._endpoint_leases = NamedLeases(db[ENDPOINT_LEASES])
        # The ends of a worker's attempts: up to its whole in-flight count end together
        # when a batch of events goes out, and each was one update command of its own.
        self._attempts_ended = GroupedWrites(self._deliveries)

    async def ensure_indexes(self) -> None:
        # One delivery per endpoint and message; the company first, so that "which of
        # these messages does the endpoint have already" is one index range with the
        # company in it.
        await self._deliveries.create_index(
            [("company_id", ASCENDING), ("endpoint_id", ASCENDING), ("message_id", ASCENDING)],
            unique=True,
        )
        # The workers' query for due deliveries.
        await self._deliveries.create_index([("state", ASCENDING), ("next_attempt_at", ASCENDING)])
        # "Is an earlier delivery of this endpoint and number still pending?": the
        # equalities first, then the numbers.
        await self._deliveries.create_index(
            [
                ("endpoint_id", ASCENDING),
                ("state", ASCENDING),
                ("ordering_key", ASCENDING),
                ("event_time", ASCENDING),
            ]
        )
        # Replaced by the two above (the embedded database serves a query from a
        # compound index only when every field it names is in that index).
        for retired in RETIRED_INDEXES:
            with contextlib.suppress(OperationFailure):
                await self._deliveries.drop_index(retired)
        # An endpoint's delivery log, newest first; and the same of one state.
        await self._deliveries.create_index(
            [
                ("company_id", ASCENDING),
                ("endpoint_id", ASCENDING),
                ("created_at", DESCENDING),
                ("_id", DESCENDING),
            ]
        )
        await self._deliveries.create_index(
            [
                ("company_id", ASCENDING),
                ("endpoint_id", ASCENDING),
                ("state", ASCENDING),
                ("created_at", DESCENDING),
                ("_id", DESCENDING),
            ]
        )

    async def insert_new(
        self, deliveries: Sequence[Delivery], session: AsyncClientSession | None = None
    ) -> None:
        """Inserts deliveries in one insert_many. Within a transaction the caller has left
        out those that exist (`existing_endpoints`): a duplicate would abort it. Outside
        one, a duplicate (a concurrent fan-out of the same event) is simply skipped."""
        if not deliveries:
            return
        documents = [delivery_doc(d) for d in deliveries]
        if session is not None:
            await self._deliveries.insert_many(documents, session=session)
            return
        try:
            await self._deliveries.insert_many(documents, ordered=False)
        except BulkWriteError as error:
            if any(e.get("code") != DUPLICATE_KEY for e in error.details.get("writeErrors", ())):
                raise

    async def existing(
        self,
        company_id: str,
        message_ids: Sequence[str],
        endpoint_ids: Sequence[str],
        session: AsyncClientSession | None = None,
    ) -> set[tuple[str, str]]:
        """(endpoint id, message id) of the deliveries among these that already exist: one
        read per endpoint (a company has a few), each a range of the unique index."""
        found: set[tuple[str, str]] = set()
        messages = list(message_ids)
        for endpoint_id in sorted(set(endpoint_ids)):
            cursor = self._deliveries.find(
                {
                    "company_id": company_id,
                    "endpoint_id": endpoint_id,
                    "message_id": {"$in": messages},
                },
                {"message_id": 1},
                session=session,
            )
            found |= {(endpoint_id, doc["message_id"]) async for doc in cursor}
        return found

    async def page_of_endpoint(
        self,
        company_id: str,
        endpoint_id: str,
        *,
        state: str | None,
        after: After | None,
        limit: int,
    ) -> list[Delivery]:
        """Up to `limit` of the endpoint's deliveries (of one state, if given), newest
        first, after `after`."""
        criteria: Doc = {"company_id": company_id, "endpoint_id": endpoint_id}
        if state is not None:
            criteria["state"] = state
        docs = await keyset_page(
            self._deliveries, criteria, NEWEST_CREATED_FIRST, after=after, limit=limit
        )
        return [delivery_from(doc) for doc in docs]

    async def get(self, company_id: str, delivery_id: str) -> Delivery:
        doc = await self._deliveries.find_one({"_id": delivery_id, "company_id": company_id})
        if doc is None:
            raise NotFound("no such delivery", {"delivery_id": "no such delivery"})
        return delivery_from(doc)

    async def of_endpoint(
        self, company_id: str, endpoint_id: str, limit: int = 50
    ) -> list[Delivery]:
        cursor = (
            self._deliveries.find({"company_id": company_id, "endpoint_id": endpoint_id})
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [delivery_from(doc) async for doc in cursor]

    async def due(
        self,
        now: datetime,
        limit: int,
        *,
        skip_endpoints: Sequence[str] = (),
        skip_ids: Sequence[str] = (),
    ) -> list[Delivery]:
        """Pending deliveries whose attempt is due and that nobody holds, earliest first,
        but for those of `skip_endpoints` and those in `skip_ids`."""
        criteria = _due_at(now)
        if skip_endpoints:
            criteria["endpoint_id"] = {"$nin": list(skip_endpoints)}
        if skip_ids:
            criteria["_id"] = {"$nin": list(skip_ids)}
        cursor = (
            self._deliveries.find(criteria)
            .sort([("next_attempt_at", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [delivery_from(doc) async for doc in cursor]

    async def waiting_for_earlier(self, due: Sequence[Delivery]) -> set[str]:
        """Of `due`, the deliveries that must wait for an earlier event of the same endpoint
        and number still to be delivered (deliveries of a number go in order): one read per
        endpoint for the whole batch."""
        keyed = [d for d in due if d.ordering_key]
        keys: dict[str, set[str]] = {}  # endpoint → its numbers among `due`
        for delivery in keyed:
            keys.setdefault(delivery.endpoint_id, set()).add(delivery.ordering_key or "")
        first: dict[tuple[str, str, str], tuple[datetime, str]] = {}
        for endpoint_id, ordering_keys in sorted(keys.items()):
            pending = self._deliveries.find(
                {
                    "endpoint_id": endpoint_id,
                    "state": PENDING,
                    "ordering_key": {"$in": sorted(ordering_keys)},
                },
                {"_id": 1, "company_id": 1, "endpoint_id": 1, "ordering_key": 1, "event_time": 1},
            )
            async for doc in pending:
                key = (doc["company_id"], doc["endpoint_id"], doc["ordering_key"])
                order = (doc["event_time"], doc["_id"])
                if key not in first or order < first[key]:
                    first[key] = order
        return {
            d.id
            for d in keyed
            if first.get((d.company_id, d.endpoint_id, d.ordering_key or ""), (d.event_time, d.id))
            < (d.event_time, d.id)
        }

    async def hold_endpoint(
        self, endpoint_id: str, holder: str, now: datetime, lease_until: datetime
    ) -> bool:
        """Whether `holder` may send the endpoint's deliveries until `lease_until`: its
        lease renewed, or taken as nobody else's runs at `now`."""
        return await self._endpoint_leases.hold(endpoint_id, holder, now, lease_until)

    async def release_endpoints(self, endpoint_ids: Sequence[str], holder: str) -> None:
        """Another worker may send these endpoints' deliveries at once (a stopping one's)."""
        await self._endpoint_leases.release(endpoint_ids, holder)

    async def still_due(self, delivery_ids: Sequence[str], now: datetime) -> list[Delivery]:
        """Those of the deliveries that are pending, due at `now` and not held by a "send
        it again": one read for the batch."""
        if not delivery_ids:
            return []
        # `_id` first: the embedded database uses the first indexed field it is given.
        cursor = self._deliveries.find({"_id": {"$in": list(delivery_ids)}, **_due_at(now)})
        return [delivery_from(doc) async for doc in cursor]

    async def record_attempt(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        state: str,
        next_attempt_at: datetime | None,
        series_started_at: datetime,
    ) -> None:
        """The attempt, the state it leaves the delivery in, and the lease let go; written
        with the other attempts that end meanwhile, in one command."""
        update = UpdateOne(
            {"_id": delivery.id, "company_id": delivery.company_id},
            {
                "$push": {"attempts": _attempt_doc(attempt)},
                "$set": {
                    "state": state,
                    "next_attempt_at": next_attempt_at,
                    "series_started_at": series_started_at,
                    "lease_holder": None,
                    "lease_until": None,
                },
                "$inc": {"series_attempts": 1},
            },
        )
        await self._attempts_ended.write(update)

    async def give_up(self, delivery: Delivery, failure: str) -> None:
        """Fails a delivery without an attempt (its endpoint is gone or disabled)."""
        given_up = UpdateOne(
            {"_id": delivery.id, "company_id": delivery.company_id},
            {
                "$set": {
                    "state": FAILED,
                    "failure": failure,
                    "next_attempt_at": None,
                    "lease_holder": None,
                    "lease_until": None,
                }
            },
        )
        await self._attempts_ended.write(given_up)

    async def restart(
        self, company_id: str, delivery_id: str, now: datetime, holder: str, lease_until: datetime
    ) -> Delivery | None:
        """A failed delivery, or a pending one, made due now with a schedule of its own (a
        new series) and held by `holder` for the attempt; None if it is delivered, held by
        another "send it again", or due while a worker holds its endpoint (being sent right
        now, or about to be)."""
        own = {"_id": delivery_id, "company_id": company_id, "lease_holder": holder}
        held = await self._deliveries.find_one_and_update(
            {
                "_id": delivery_id,
                "company_id": company_id,
                # A failed delivery holds no lease (its last attempt or the giving up let
                # it go), so "failed, or pending and free" is one clause per field: beside
                # a top-level $or, the embedded database reads every delivery.
                "state": {"$in": [FAILED, PENDING]},
                **unheld(now),
            },
            {"$set": {"lease_holder": holder, "lease_until": lease_until}},
            return_document=ReturnDocument.AFTER,
        )
        if held is None:
            return None
        # Held first, the endpoint looked at after: a worker that read the delivery as due
        # before the hold still holds the endpoint now, and one that takes the endpoint
        # from now on finds the delivery held.
        due = held["state"] == PENDING and held["next_attempt_at"] <= now
        if due and await self._endpoint_leases.held(held["endpoint_id"], now):
            let_go = {"$set": {"lease_holder": None, "lease_until": None}}
            await self._deliveries.update_one(own, let_go)
            return None
        doc = await self._deliveries.find_one_and_update(
            own,
            {
                "$set": {
                    "state": PENDING,
                    "next_attempt_at": now,
                    "series_started_at": None,
                    "series_attempts": 0,
                    "failure": "",
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else delivery_from(doc)
