"""Webhook endpoints in MongoDB: one document per endpoint.

Every query carries the company: another company's endpoint is simply not found. Changes a
person makes check the version they read (optimistic concurrency); what the delivery
workers record (failing since, disabled after a day of failures) is written atomically
without a version, so that it never refuses a person's change nor is refused by one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.errors import Conflict, NotFound
from services.kit.keyset import OLDEST_CREATED_FIRST, keyset_page
from services.notifications.domain.webhooks import DISABLED_FAILING, Endpoint, SigningSecrets

Doc = dict[str, Any]
ENDPOINTS = "webhook_endpoints"
# A page of a company's endpoints starts after this one: (created_at, id), oldest first.
After = tuple[datetime, str]


def endpoint_doc(endpoint: Endpoint) -> Doc:
    return {
        "_id": endpoint.id,
        "company_id": endpoint.company_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "secret": endpoint.secrets.current,
        "previous_secret": endpoint.secrets.previous,
        "previous_secret_valid_until": endpoint.secrets.previous_valid_until,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at,
        "failing_since": endpoint.failing_since,
        "created_at": endpoint.created_at,
        "version": endpoint.version,
    }


def endpoint_from(doc: Doc) -> Endpoint:
    return Endpoint(
        id=doc["_id"],
        company_id=doc["company_id"],
        url=doc["url"],
        description=doc.get("description", ""),
        event_types=tuple(doc.get("event_types", ())),
        secrets=SigningSecrets(
            doc["secret"], doc.get("previous_secret"), doc.get("previous_secret_valid_until")
        ),
        enabled=doc.get("enabled", True),
        created_at=doc["created_at"],
        disabled_reason=doc.get("disabled_reason", ""),
        disabled_at=doc.get("disabled_at"),
        failing_since=doc.get("failing_since"),
        version=doc.get("version", 0),
    )


def _not_found(endpoint_id: str) -> NotFound:
    return NotFound("no such webhook endpoint", {"endpoint_id": "no such endpoint"})


class EndpointStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._endpoints = db[ENDPOINTS]

    async def ensure_indexes(self) -> None:
        # The company's endpoints page by page, oldest first.
        await self._endpoints.create_index(
            [("company_id", ASCENDING), ("created_at", ASCENDING), ("_id", ASCENDING)]
        )
        # The notifier's query: endpoints disabled after a day of failures, owners not told.
        await self._endpoints.create_index(
            [("enabled", ASCENDING), ("disabled_reason", ASCENDING), ("owners_told_at", ASCENDING)]
        )

    async def insert(self, endpoint: Endpoint, session: AsyncClientSession | None = None) -> None:
        await self._endpoints.insert_one(endpoint_doc(endpoint), session=session)

    async def get(
        self, company_id: str, endpoint_id: str, session: AsyncClientSession | None = None
    ) -> Endpoint:
        doc = await self._endpoints.find_one(
            {"_id": endpoint_id, "company_id": company_id}, session=session
        )
        if doc is None:
            raise _not_found(endpoint_id)
        return endpoint_from(doc)

    async def of_deliveries(self, keys: Iterable[tuple[str, str]]) -> dict[str, Endpoint]:
        """The endpoints named by (company id, endpoint id), by id, in one read (a worker's
        pass); one deleted meanwhile is absent."""
        wanted = [{"_id": endpoint_id, "company_id": company} for company, endpoint_id in set(keys)]
        if not wanted:
            return {}
        cursor = self._endpoints.find({"$or": wanted})
        return {doc["_id"]: endpoint_from(doc) async for doc in cursor}

    async def of_company(self, company_id: str) -> list[Endpoint]:
        cursor = self._endpoints.find({"company_id": company_id}).sort("created_at", ASCENDING)
        return [endpoint_from(doc) async for doc in cursor]

    async def page(self, company_id: str, after: After | None, limit: int) -> list[Endpoint]:
        """Up to `limit` of the company's endpoints, oldest first, after `after`."""
        criteria: Doc = {"company_id": company_id}
        docs = await keyset_page(
            self._endpoints, criteria, OLDEST_CREATED_FIRST, after=after, limit=limit
        )
        return [endpoint_from(doc) for doc in docs]

    async def wanting(
        self, company_id: str, event_type: str, session: AsyncClientSession | None = None
    ) -> list[Endpoint]:
        """The company's enabled endpoints subscribed to this event type (or to all)."""
        cursor = self._endpoints.find(
            {
                "company_id": company_id,
                "enabled": True,
                "event_types": {"$in": [event_type, "*"]},
            },
            session=session,
        ).sort("_id", ASCENDING)
        return [endpoint_from(doc) async for doc in cursor]

    async def save(
        self,
        endpoint: Endpoint,
        session: AsyncClientSession | None = None,
        *,
        reset_failing: bool = False,
    ) -> Endpoint:
        """A person's change, written only over the version it was made from. The workers'
        `failing_since` is kept as they wrote it, unless `reset_failing` (enabled again)."""
        saved = replace(endpoint, version=endpoint.version + 1)
        fields = endpoint_doc(saved)
        del fields["_id"], fields["company_id"], fields["created_at"], fields["failing_since"]
        if reset_failing:
            fields["failing_since"] = None
        result = await self._endpoints.update_one(
            {"_id": endpoint.id, "company_id": endpoint.company_id, "version": endpoint.version},
            {"$set": fields},
            session=session,
        )
        if result.matched_count == 0:
            await self.get(endpoint.company_id, endpoint.id, session)  # NotFound if gone
            raise Conflict("the endpoint was changed meanwhile; read it again")
        return saved

    async def delete(
        self, company_id: str, endpoint_id: str, session: AsyncClientSession | None = None
    ) -> None:
        result = await self._endpoints.delete_one(
            {"_id": endpoint_id, "company_id": company_id}, session=session
        )
        if result.deleted_count == 0:
            raise _not_found(endpoint_id)

    async def record_success(self, company_id: str, endpoint_id: str) -> None:
        await self._endpoints.update_one(
            {"_id": endpoint_id, "company_id": company_id, "failing_since": {"$ne": None}},
            {"$set": {"failing_since": None}},
        )

    async def record_failure(self, company_id: str, endpoint_id: str, at: datetime) -> Endpoint:
        """The endpoint after a failed attempt at `at`: failing since the earliest failure
        of the streak (`delivery_schedule.failing_since`; workers may record out of order)."""
        scope = {"_id": endpoint_id, "company_id": company_id}
        await self._endpoints.update_one(
            {**scope, "failing_since": None}, {"$set": {"failing_since": at}}
        )
        doc = await self._endpoints.find_one_and_update(
            {**scope, "failing_since": {"$gt": at}},
            {"$set": {"failing_since": at}},
            return_document=ReturnDocument.AFTER,
        ) or await self._endpoints.find_one(scope)
        if doc is None:
            raise _not_found(endpoint_id)
        return endpoint_from(doc)

    async def disable_failing(
        self, company_id: str, endpoint_id: str, reason: str, at: datetime
    ) -> bool:
        """Disables an endpoint that is still enabled and failing; True if this call did
        (exactly one worker learns it, and tells the owners)."""
        result = await self._endpoints.update_one(
            {
                "_id": endpoint_id,
                "company_id": company_id,
                "enabled": True,
                "failing_since": {"$ne": None},
            },
            {
                "$set": {
                    "enabled": False,
                    "disabled_reason": reason,
                    "disabled_at": at,
                    # The owners are to be told: the notifier (service/owners_notice.py)
                    # takes endpoints whose `owners_told_at` is None and sets it when the
                    # e-mail is sent.
                    "owners_told_at": None,
                    "owners_notice_until": None,
                },
                "$inc": {"version": 1},
            },
        )
        return result.modified_count == 1

    async def claim_owners_notice(self, now: datetime, lease_until: datetime) -> Endpoint | None:
        """An endpoint (of any company: the notifier serves them all) that a day of
        failures disabled and whose owners are not told yet, held until `lease_until` so
        that one notifier tells them; None when there is none. A notifier that dies lets
        its hold run out and another tells them (at least once)."""
        doc = await self._endpoints.find_one_and_update(
            {
                "enabled": False,
                "disabled_reason": DISABLED_FAILING,
                "owners_told_at": None,
                "$or": [
                    {"owners_notice_until": None},
                    {"owners_notice_until": {"$lte": now}},
                ],
            },
            {"$set": {"owners_notice_until": lease_until}},
            sort=[("disabled_at", ASCENDING)],
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else endpoint_from(doc)

    async def record_owners_told(self, company_id: str, endpoint_id: str, at: datetime) -> None:
        await self._endpoints.update_one(
            {"_id": endpoint_id, "company_id": company_id},
            {"$set": {"owners_told_at": at, "owners_notice_until": None}},
        )
