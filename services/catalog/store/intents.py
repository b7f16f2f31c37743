"""Provisioning intents and the numbers' locks, in MongoDB.

`provisioning_intents`: one document per change asked of the network, `_id` its reference
(the idempotency reference the network repeats safely): the company, the number, the
change, the fields of the number's document it sets, the event it tells, who it is for (a
single operation's journal entry, a bulk operation, the system), `state` (pending →
applied | refused, exactly once) and `lease_until` (a pending intent past it is the
reconciler's). A number with a change in flight is held by its pending intent: the
unique index `number_held` admits one pending, held intent per number, so the number takes
no other change of the network until the answer finishes that intent. The hold lives here
rather than on the number's document: the number's document (seven indexes) is written
once per change, with the fields the network confirmed, not twice (held, then changed and
let go).

A bulk operation's intent also carries its number's result once answered (`result`: the
status, code and detail the operation lists), written by the same update that finishes it:
the answer costs one document, not a finished intent and a result beside it. Its reference
is "prv_<operation>_<msisdn>" (one intent per number of an operation: the result of a
refused one is final, an unanswered one is asked again under it), so the operation's
results are read by `_id`, as its other results are (store/operations.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, ReturnDocument, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.catalog.domain.bulk import TargetResult
from services.catalog.provisioning import Change, change_doc, change_from
from services.kit.errors import Conflict
from services.kit.events import Event, decode_event, encode_event

PENDING = "pending"
APPLIED = "applied"
REFUSED = "refused"
UNCHANGED = "unchanged"  # a system block found the number already so: nothing asked
DROPPED = "dropped"  # a system block's number left the company before it was asked

# The unique index that holds a number for its pending change (see the module's doc).
NUMBER_HELD = "number_held"

# Who an intent is for.
SINGLE = "single"  # a single-number call: `journal` is its entry of the operations journal
BULK = "bulk"  # a bulk operation's target: `operation_id`
SYSTEM = "system"  # a block the system sets or lifts (billing's facts)

Doc = dict[str, Any]


@dataclass(frozen=True)
class Intent:
    reference: str
    company_id: str
    msisdn: str
    change: Change
    fields: Mapping[str, Any]  # the number's document takes them when the network confirms
    event: Event | None
    owner: str
    operation_id: str = ""
    position: int = -1  # a bulk operation's target: its place in the operation's request
    journal: Mapping[str, Any] | None = None
    free: Mapping[str, Any] | None = None  # a replacement's number, taken from the free pool
    detail: str = ""  # what the change does, for people (a bulk result's detail)
    created_at: datetime | None = None
    # False: a system block queued, the number not held yet (nor its fields decided): the
    # reconciler holds the number and decides when it is free.
    held: bool = True


def bulk_reference(operation_id: str, msisdn: str) -> str:
    """The reference of a bulk operation's change of a number (see the module's doc)."""
    return f"prv_{operation_id}_{msisdn}"


def _result_doc(intent: Intent, result: TargetResult) -> Doc:
    """The result as the intent carries it: its detail only when it is not the intent's
    own (a change's detail is), so that the answers alike are one update."""
    doc = {"status": result.status, "code": result.code}
    if result.detail != intent.detail:
        doc["detail"] = result.detail
    return doc


# The fields of an intent a carried result is read from.
CARRIED = {"msisdn": 1, "detail": 1, "result": 1}


def carried_result(doc: Doc) -> TargetResult:
    """The result a finished bulk intent carries (its document read with CARRIED)."""
    result = doc["result"]
    detail = result.get("detail", doc.get("detail", ""))
    return TargetResult(doc["msisdn"], result["status"], result.get("code", ""), detail)


def _doc(intent: Intent, now: datetime, lease: timedelta) -> Doc:
    return {
        "_id": intent.reference,
        "company_id": intent.company_id,
        "msisdn": intent.msisdn,
        "change": change_doc(intent.change),
        "fields": dict(intent.fields),
        "event": encode_event(intent.event) if intent.event is not None else None,
        "owner": intent.owner,
        "operation_id": intent.operation_id,
        "position": intent.position,
        "journal": dict(intent.journal) if intent.journal is not None else None,
        "free": dict(intent.free) if intent.free is not None else None,
        "detail": intent.detail,
        "held": intent.held,
        "state": PENDING,
        "created_at": intent.created_at or now,  # when it was wanted (a retry keeps it)
        "lease_until": now + lease,
    }


def _intent(doc: Doc) -> Intent:
    return Intent(
        reference=doc["_id"],
        company_id=doc["company_id"],
        msisdn=doc["msisdn"],
        change=change_from(doc["change"]),
        fields=doc.get("fields") or {},
        event=decode_event(doc["event"]) if doc.get("event") else None,
        owner=doc["owner"],
        operation_id=doc.get("operation_id", ""),
        position=doc.get("position", -1),
        journal=doc.get("journal"),
        free=doc.get("free"),
        detail=doc.get("detail", ""),
        created_at=doc.get("created_at"),
        held=doc.get("held", True),
    )


class IntentStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._intents = db["provisioning_intents"]
        self._numbers = db["numbers"]

    async def ensure_indexes(self) -> None:
        await self._intents.create_index(
            [("state", ASCENDING), ("owner", ASCENDING), ("lease_until", ASCENDING)]
        )
        await self._intents.create_index([("operation_id", ASCENDING), ("state", ASCENDING)])
        await self._intents.create_index([("msisdn", ASCENDING), ("state", ASCENDING)])
        # The numbers' holds: one change of a number on its way to the network at a time.
        await self._intents.create_index(
            [("msisdn", ASCENDING)],
            unique=True,
            name=NUMBER_HELD,
            partialFilterExpression={"state": PENDING, "held": True},
        )
        # A SIM card on its way to a number is taken: a second change giving it to another
        # number is refused at its intent, not found out when the network has said yes.
        await self._intents.create_index(
            [("fields.iccid", ASCENDING)],
            unique=True,
            name="sim_in_flight",
            partialFilterExpression={"state": PENDING, "fields.iccid": {"$exists": True}},
        )

    # --- phase A: the intent and the lock, in the deciding transaction ---

    async def locked(
        self, msisdns: Sequence[str], session: AsyncClientSession | None = None
    ) -> set[str]:
        """Which of these numbers have a change in flight."""
        cursor = self._intents.find(
            {"msisdn": {"$in": list(msisdns)}, "state": PENDING, "held": True},
            {"msisdn": 1},
            session=session,
        )
        return {doc["msisdn"] async for doc in cursor}

    async def record(
        self,
        intents: Sequence[Intent],
        now: datetime,
        lease: timedelta,
        session: AsyncClientSession,
    ) -> bool:
        """The intents, each holding its number; False when a number has a change in
        flight already (the caller refuses: nothing of its transaction may be committed
        then). Conflict when a SIM card is on its way to another number."""
        if not intents:
            return True
        try:
            await self._intents.insert_many([_doc(i, now, lease) for i in intents], session=session)
        except (DuplicateKeyError, BulkWriteError) as error:
            if _number_held(error):
                return False
            raise Conflict("the SIM card is already in use", reason="ALREADY_EXISTS") from error
        return True

    async def queue(
        self, intents: Sequence[Intent], due_at: datetime, session: AsyncClientSession
    ) -> None:
        """System blocks, not holding their numbers yet: the reconciler's from `due_at`."""
        if intents:
            docs = [_doc(replace(i, held=False), due_at, timedelta(0)) for i in intents]
            await self._intents.insert_many(docs, session=session)

    async def queued_for(self, msisdns: Sequence[str], session: AsyncClientSession) -> set[str]:
        """Which of these numbers have a system block pending."""
        cursor = self._intents.find(
            {"msisdn": {"$in": list(msisdns)}, "owner": SYSTEM, "state": PENDING},
            {"msisdn": 1},
            session=session,
        )
        return {doc["msisdn"] async for doc in cursor}

    async def earlier_queued(self, intent: Intent, session: AsyncClientSession) -> bool:
        """Whether a system block of the number queued before this one is pending (they
        reach the network in the order they were wanted)."""
        doc = await self._intents.find_one(
            {
                "msisdn": intent.msisdn,
                "owner": SYSTEM,
                "state": PENDING,
                "created_at": {"$lt": intent.created_at},
            },
            {"_id": 1},
            session=session,
        )
        return doc is not None

    async def hold(self, intent: Intent, session: AsyncClientSession) -> bool:
        """A queued system block takes its number (if free) with its decided fields and
        event; False when the number is held by another change."""
        if await self.locked([intent.msisdn], session):
            return False
        # A hold taken meanwhile by a concurrent transaction conflicts with this write:
        # the transaction runs again and finds it above.
        await self._intents.update_one(
            {"_id": intent.reference, "state": PENDING},
            {
                "$set": {
                    "held": True,
                    "fields": dict(intent.fields),
                    "event": encode_event(intent.event) if intent.event is not None else None,
                }
            },
            session=session,
        )
        return True

    async def postpone(self, intent: Intent, until: datetime) -> None:
        await self._intents.update_one(
            {"_id": intent.reference, "state": PENDING}, {"$set": {"lease_until": until}}
        )

    # --- phase C: the answer, once, guarded by the intent still pending ---

    async def finish(
        self, intent: Intent, state: str, now: datetime, session: AsyncClientSession
    ) -> bool:
        """The intent leaves `pending` for `state`; False when it had left already (the
        answer was recorded by another process): nothing else may be written then."""
        result = await self._intents.update_one(
            {"_id": intent.reference, "state": PENDING},
            {"$set": {"state": state, "finished_at": now}},
            session=session,
        )
        return result.modified_count == 1

    async def finish_all(
        self,
        intents: Sequence[Intent],
        state: str,
        now: datetime,
        session: AsyncClientSession,
        results: Mapping[str, TargetResult] | None = None,
    ) -> None:
        """The intents leave `pending` for `state`; those in `results` (by reference: a
        bulk operation's) carry their result from now on, in the same update: one
        update of all those whose results are alike (a batch's confirmed changes are)."""
        alike: dict[tuple[tuple[str, str], ...], list[str]] = {}  # result → references
        for intent in intents:
            result = results.get(intent.reference) if results else None
            doc = _result_doc(intent, result) if result is not None else {}
            alike.setdefault(tuple(sorted(doc.items())), []).append(intent.reference)
        for result_items, references in alike.items():
            finished: Doc = {"state": state, "finished_at": now}
            if result_items:
                finished["result"] = dict(result_items)
            await self._intents.update_many(
                {"_id": {"$in": references}, "state": PENDING},
                {"$set": finished},
                session=session,
            )

    async def still_pending(
        self, intents: Sequence[Intent], session: AsyncClientSession
    ) -> set[str]:
        """The references of these intents still pending (the others were answered)."""
        cursor = self._intents.find(
            {"_id": {"$in": [i.reference for i in intents]}, "state": PENDING},
            {"_id": 1},
            session=session,
        )
        return {doc["_id"] async for doc in cursor}

    async def confirmed(self, intents: Sequence[Intent], session: AsyncClientSession) -> None:
        """The numbers take the fields their changes set (only those: a concurrent note or
        move stays). Each intent has left `pending` in the same transaction, which let its
        number go."""
        writes = [
            UpdateOne({"_id": i.msisdn, "company_id": i.company_id}, {"$set": dict(i.fields)})
            for i in intents
            if i.fields
        ]
        if writes:
            await self._numbers.bulk_write(writes, ordered=False, session=session)

    # --- the reconciler's and the bulk runner's ---

    async def due(self, owners: Sequence[str], now: datetime, limit: int) -> list[str]:
        """References of pending intents of these owners whose lease ran out, oldest
        first."""
        cursor = (
            self._intents.find(
                {"state": PENDING, "owner": {"$in": list(owners)}, "lease_until": {"$lte": now}},
                {"_id": 1},
            )
            .sort("created_at", ASCENDING)
            .limit(limit)
        )
        return [doc["_id"] async for doc in cursor]

    async def claim(self, reference: str, now: datetime, lease: timedelta) -> Intent | None:
        """A pending intent whose lease ran out, for this process until `now + lease`;
        None when another took it or it was answered."""
        doc = await self._intents.find_one_and_update(
            {"_id": reference, "state": PENDING, "lease_until": {"$lte": now}},
            {"$set": {"lease_until": now + lease}},
            return_document=ReturnDocument.AFTER,
        )
        return _intent(doc) if doc else None

    # --- a bulk operation's results that its intents carry ---

    async def results_of(
        self,
        company_id: str,
        operation_id: str,
        msisdns: Sequence[str],
        session: AsyncClientSession | None = None,
    ) -> dict[str, TargetResult]:
        """The results these numbers' intents in the operation carry, by number (read by
        `_id`)."""
        cursor = self._intents.find(
            {
                "_id": {"$in": [bulk_reference(operation_id, m) for m in msisdns]},
                "company_id": company_id,
                "result": {"$exists": True},
            },
            CARRIED,
            session=session,
        )
        return {doc["msisdn"]: carried_result(doc) async for doc in cursor}

    async def results_page(
        self, company_id: str, operation_id: str, status: str, after: int | None, limit: int
    ) -> list[tuple[int, TargetResult]]:
        """The first `limit` results of one status that the operation's intents carry,
        after place `after`, in the request's order."""
        criteria: Doc = {
            "operation_id": operation_id,
            "company_id": company_id,
            "result.status": status,
        }
        if after is not None:
            criteria["position"] = {"$gt": after}
        cursor = (
            self._intents.find(criteria, {**CARRIED, "position": 1})
            .sort("position", ASCENDING)
            .limit(limit)
        )
        return [(doc["position"], carried_result(doc)) async for doc in cursor]

    async def of_operation(self, operation_id: str) -> list[Intent]:
        """A bulk operation's pending intents (a worker that died left them)."""
        cursor = self._intents.find({"operation_id": operation_id, "state": PENDING})
        return [_intent(doc) async for doc in cursor]


def _number_held(error: DuplicateKeyError | BulkWriteError) -> bool:
    """Whether the write found a number held (`number_held`, keyed by the number alone;
    the other unique index of intents is the SIM card's)."""
    details = error.details or {}
    taken = details.get("writeErrors", [details])
    return any(e.get("keyPattern") == {"msisdn": 1} for e in taken)
