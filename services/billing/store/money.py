"""What moved money and why: payments, transfers, promised payments, settlement-method
requests, and the idempotency records of requests that move money."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.billing.domain.promised_payments import OPEN, REPAID, PromisedPayment
from services.billing.domain.transfers import Transfer
from services.kit.keyset import id_page_matching_any

Doc = dict[str, Any]
Session = AsyncClientSession | None
PENDING = "pending"


def transfer_doc(transfer: Transfer) -> Doc:
    return {
        "_id": transfer.id,
        "company_id": transfer.company_id,
        "from_account_id": transfer.from_account_id,
        "to_account_id": transfer.to_account_id,
        "amount": transfer.amount,
        "status": transfer.status,
        "created_at": transfer.created_at,
        "created_by": transfer.created_by,
    }


def transfer_from(doc: Doc) -> Transfer:
    return Transfer(
        id=doc["_id"],
        company_id=doc["company_id"],
        from_account_id=doc["from_account_id"],
        to_account_id=doc["to_account_id"],
        amount=doc["amount"],
        status=doc["status"],
        created_at=doc["created_at"],
        created_by=doc.get("created_by", ""),
    )


def promise_doc(promise: PromisedPayment) -> Doc:
    return {
        "_id": promise.id,
        "company_id": promise.company_id,
        "account_id": promise.account_id,
        "amount": promise.amount,
        "status": promise.status,
        "created_at": promise.created_at,
        "due_at": promise.due_at,
        "repaid_at": promise.repaid_at,
    }


def promise_from(doc: Doc) -> PromisedPayment:
    return PromisedPayment(
        id=doc["_id"],
        company_id=doc["company_id"],
        account_id=doc["account_id"],
        amount=doc["amount"],
        status=doc["status"],
        created_at=doc["created_at"],
        due_at=doc["due_at"],
        repaid_at=doc.get("repaid_at"),
    )


class IdempotencyStore:
    """One record per (company, kind of request, key): the request's digest and what it
    answered. The record is written in the same transaction as the request's effect."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._records = db["idempotency_keys"]

    async def ensure_indexes(self) -> None:
        await self._records.create_index([("company_id", ASCENDING), ("at", ASCENDING)])

    @staticmethod
    def _key(company_id: str, scope: str, key: str) -> str:
        return f"{company_id}:{scope}:{key}"

    async def find(
        self, company_id: str, scope: str, key: str, session: Session = None
    ) -> Doc | None:
        return await self._records.find_one(
            {"_id": self._key(company_id, scope, key), "company_id": company_id},
            session=session,
        )

    async def insert(
        self,
        company_id: str,
        scope: str,
        key: str,
        digest: str,
        result_id: str,
        at: datetime,
        session: AsyncClientSession,
    ) -> None:
        await self._records.insert_one(
            {
                "_id": self._key(company_id, scope, key),
                "company_id": company_id,
                "digest": digest,
                "result_id": result_id,
                "at": at,
            },
            session=session,
        )


# The fields that name a transfer's two accounts, each with an index of its own.
ACCOUNT_SIDES = ("from_account_id", "to_account_id")


class TransferStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._transfers = db["transfers"]

    async def ensure_indexes(self) -> None:
        await self._transfers.create_index([("company_id", ASCENDING), ("_id", DESCENDING)])
        for side in ACCOUNT_SIDES:
            await self._transfers.create_index(
                [("company_id", ASCENDING), (side, ASCENDING), ("_id", DESCENDING)]
            )

    async def insert(self, transfer: Transfer, session: AsyncClientSession) -> None:
        await self._transfers.insert_one(transfer_doc(transfer), session=session)

    async def get(self, company_id: str, transfer_id: str, session: Session = None) -> Transfer:
        doc = await self._transfers.find_one(
            {"_id": transfer_id, "company_id": company_id}, session=session
        )
        if doc is None:
            raise LookupError(transfer_id)
        return transfer_from(doc)

    async def page(
        self, company_id: str, account_id: str, before: str | None, limit: int
    ) -> list[Transfer]:
        """Newest first (ids grow with time), keyset on the id. One account's transfers are
        read side by side, those it gave and those it took, each a range of its own index,
        and merged: a top-level `$or` of the two the embedded database would answer by
        reading every company's transfers."""
        criteria: Doc = {"company_id": company_id}
        if before:
            criteria["_id"] = {"$lt": before}
        sides = [{side: account_id} for side in ACCOUNT_SIDES] if account_id else [{}]
        docs = await id_page_matching_any(
            self._transfers, criteria, sides, descending=True, limit=limit
        )
        return [transfer_from(doc) for doc in docs]


class PaymentStore:
    """The operator's payments by their own id: a payment is recorded once."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._payments = db["payments"]

    async def ensure_indexes(self) -> None:
        await self._payments.create_index([("company_id", ASCENDING), ("account_id", ASCENDING)])

    async def get(self, payment_id: str, session: Session = None) -> Doc | None:
        return await self._payments.find_one({"_id": payment_id}, session=session)

    async def insert(self, doc: Doc, session: AsyncClientSession) -> None:
        await self._payments.insert_one(doc, session=session)


class PromiseStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._promises = db["promised_payments"]

    async def ensure_indexes(self) -> None:
        await self._promises.create_index(
            [("company_id", ASCENDING), ("account_id", ASCENDING), ("created_at", DESCENDING)]
        )
        await self._promises.create_index([("status", ASCENDING), ("due_at", ASCENDING)])

    async def insert(self, promise: PromisedPayment, session: AsyncClientSession) -> None:
        await self._promises.insert_one(promise_doc(promise), session=session)

    async def get(self, company_id: str, promise_id: str, session: Session = None) -> Doc | None:
        return await self._promises.find_one(
            {"_id": promise_id, "company_id": company_id}, session=session
        )

    async def open_of(
        self, company_id: str, account_id: str, session: Session = None
    ) -> PromisedPayment | None:
        doc = await self._promises.find_one(
            {"company_id": company_id, "account_id": account_id, "status": OPEN},
            session=session,
        )
        return promise_from(doc) if doc else None

    async def of_account(self, company_id: str, account_id: str) -> list[PromisedPayment]:
        cursor = self._promises.find({"company_id": company_id, "account_id": account_id}).sort(
            "created_at", DESCENDING
        )
        return [promise_from(doc) async for doc in cursor]

    async def due(self, now: datetime, limit: int = 100) -> list[PromisedPayment]:
        """Open promises whose term ended (across companies: the scheduler's work)."""
        cursor = self._promises.find({"status": OPEN, "due_at": {"$lt": now}}).limit(limit)
        return [promise_from(doc) async for doc in cursor]

    async def to_remind(self, until: datetime, limit: int = 100) -> list[PromisedPayment]:
        """Open promises due by `until` that the company was not yet told of (across
        companies: the scheduler's work)."""
        cursor = self._promises.find(
            {"status": OPEN, "due_at": {"$lte": until}, "reminded_at": None}
        ).limit(limit)
        return [promise_from(doc) async for doc in cursor]

    async def mark_reminded(
        self, promise: PromisedPayment, at: datetime, session: AsyncClientSession
    ) -> bool:
        """Told once: False when another replica told it first (or it was repaid)."""
        doc = await self._promises.find_one_and_update(
            {
                "_id": promise.id,
                "company_id": promise.company_id,
                "status": OPEN,
                "reminded_at": None,
            },
            {"$set": {"reminded_at": at}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return doc is not None

    async def close(
        self, promise: PromisedPayment, at: datetime, session: AsyncClientSession
    ) -> bool:
        """Open → repaid, once: False when another replica repaid it first."""
        doc = await self._promises.find_one_and_update(
            {"_id": promise.id, "company_id": promise.company_id, "status": OPEN},
            {"$set": {"status": REPAID, "repaid_at": at}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return doc is not None


class SettlementRequestStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._requests = db["settlement_requests"]

    async def ensure_indexes(self) -> None:
        await self._requests.create_index(
            [("company_id", ASCENDING), ("account_id", ASCENDING), ("status", ASCENDING)]
        )
        await self._requests.create_index([("status", ASCENDING), ("requested_at", ASCENDING)])

    async def insert(self, doc: Doc, session: AsyncClientSession) -> None:
        await self._requests.insert_one(doc, session=session)

    async def pending_of(
        self, company_id: str, account_ids: list[str], session: Session = None
    ) -> dict[str, Doc]:
        cursor = self._requests.find(
            {"company_id": company_id, "account_id": {"$in": account_ids}, "status": PENDING},
            session=session,
        )
        return {doc["account_id"]: doc async for doc in cursor}

    async def pending(self, company_id: str = "") -> list[Doc]:
        criteria: Doc = {"status": PENDING}
        if company_id:
            criteria["company_id"] = company_id
        return await self._requests.find(criteria).sort("requested_at", ASCENDING).to_list()

    async def get(self, request_id: str, session: Session = None) -> Doc | None:
        return await self._requests.find_one({"_id": request_id}, session=session)

    async def decide(
        self, request_id: str, status: str, comment: str, at: datetime, session: AsyncClientSession
    ) -> Doc | None:
        """Pending → approved or refused, once."""
        return await self._requests.find_one_and_update(
            {"_id": request_id, "status": PENDING},
            {"$set": {"status": status, "comment": comment, "decided_at": at}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
