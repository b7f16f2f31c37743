"""Usage records, month-to-date spending, spending limits, limit blocks, monthly fees and
the catalogue's prices (a copy fed by catalog's events)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, InsertOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.billing.domain.limits import SpendingLimit
from services.billing.domain.usage import UsageRecord

Doc = dict[str, Any]
Session = AsyncClientSession | None
# A report's numbers whose records are asked for at once.
NUMBERS_AT_ONCE = 16


def limit_from(doc: Doc) -> SpendingLimit:
    return SpendingLimit(
        doc["company_id"], doc["msisdn"], doc["kind"], doc["amount"], doc["action"]
    )


class UsageStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._records = db["usage_records"]
        self._spend = db["spend"]

    async def ensure_indexes(self) -> None:
        await self._records.create_index(
            [("company_id", ASCENDING), ("msisdn", ASCENDING), ("at", ASCENDING)]
        )
        await self._spend.create_index([("company_id", ASCENDING), ("msisdn", ASCENDING)])

    async def seen(self, record_ids: Sequence[str], session: AsyncClientSession) -> set[str]:
        cursor = self._records.find({"_id": {"$in": list(record_ids)}}, {"_id": 1}, session=session)
        return {doc["_id"] async for doc in cursor}

    async def insert(
        self, rows: Sequence[tuple[UsageRecord, str, str]], batch: str, session: AsyncClientSession
    ) -> None:
        """(record, company, account) rows of one charged batch."""
        await self._records.bulk_write(
            [
                InsertOne(
                    {
                        "_id": record.record_id,
                        "company_id": company_id,
                        "account_id": account_id,
                        "msisdn": record.msisdn,
                        "kind": record.kind,
                        "charge": record.charge,
                        "quantity": record.quantity,
                        "at": record.at,
                        "batch": batch,
                    }
                )
                for record, company_id, account_id in rows
            ],
            session=session,
        )

    async def of_number(
        self, company_id: str, msisdn: str, start: datetime, end: datetime
    ) -> list[Doc]:
        return await self._records.find(
            {"company_id": company_id, "msisdn": msisdn, "at": {"$gte": start, "$lt": end}},
            {"kind": 1, "charge": 1, "quantity": 1},
        ).to_list()

    async def stream(
        self,
        company_id: str,
        msisdns: Sequence[str],
        account_id: str,
        start: datetime,
        end: datetime,
        batch: int,
    ) -> AsyncIterator[list[Doc]]:
        """A company's records in [start, end), by number then time, in lists of `batch`:
        of the numbers given (in pieces, so that no query names too many), else of the
        account given, else all."""
        window = {"$gte": start, "$lt": end}
        if msisdns:
            async for rows in self._of_numbers(company_id, sorted(set(msisdns)), window, batch):
                yield rows
            return
        criteria: Doc = {"company_id": company_id, "at": window}
        if account_id:
            criteria["account_id"] = account_id
        async for rows in self._batches(criteria, batch):
            yield rows

    async def _of_numbers(
        self, company_id: str, msisdns: list[str], window: Doc, batch: int
    ) -> AsyncIterator[list[Doc]]:
        """One indexed query per number (company, number, time window), NUMBERS_AT_ONCE at a
        time, in number order. Not `msisdn: {$in: [...]}`: the embedded database does not
        walk the index for an $in, it tests every record of the company against the list,
        so a report over thousands of numbers would cost records × numbers."""
        rows: list[Doc] = []
        for at in range(0, len(msisdns), NUMBERS_AT_ONCE):
            group = msisdns[at : at + NUMBERS_AT_ONCE]
            found = await asyncio.gather(
                *(
                    self._records.find({"company_id": company_id, "msisdn": m, "at": window})
                    .sort("at", ASCENDING)
                    .to_list()
                    for m in group
                )
            )
            for records in found:
                rows.extend(records)
            while len(rows) >= batch:
                yield rows[:batch]
                rows = rows[batch:]
        if rows:
            yield rows

    async def _batches(self, criteria: Doc, batch: int) -> AsyncIterator[list[Doc]]:
        cursor = self._records.find(criteria).sort([("msisdn", ASCENDING), ("at", ASCENDING)])
        rows: list[Doc] = []
        async for doc in cursor.batch_size(batch):
            rows.append(doc)
            if len(rows) == batch:
                yield rows
                rows = []
        if rows:
            yield rows

    async def spend(
        self, company_id: str, msisdns: Sequence[str], period: str, session: Session = None
    ) -> dict[str, dict[str, int]]:
        """Spending by kind this period, per number."""
        cursor = self._spend.find(
            {"_id": {"$in": [f"{m}:{period}" for m in msisdns]}, "company_id": company_id},
            session=session,
        )
        return {doc["msisdn"]: dict(doc.get("by_kind", {})) async for doc in cursor}

    async def add_spend(
        self,
        company_id: str,
        period: str,
        added: dict[str, dict[str, int]],
        session: AsyncClientSession,
    ) -> None:
        await self._spend.bulk_write(
            [
                UpdateOne(
                    {"_id": f"{msisdn}:{period}"},
                    {
                        "$inc": {f"by_kind.{kind}": amount for kind, amount in kinds.items()},
                        "$setOnInsert": {
                            "company_id": company_id,
                            "msisdn": msisdn,
                            "period": period,
                        },
                    },
                    upsert=True,
                )
                for msisdn, kinds in added.items()
            ],
            session=session,
        )


class LimitStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._limits = db["spending_limits"]
        self._blocks = db["limit_blocks"]

    async def ensure_indexes(self) -> None:
        await self._limits.create_index([("company_id", ASCENDING), ("msisdn", ASCENDING)])
        await self._blocks.create_index([("lifted", ASCENDING), ("period", ASCENDING)])

    async def of_number(
        self, company_id: str, msisdn: str, session: Session = None
    ) -> list[SpendingLimit]:
        cursor = self._limits.find({"company_id": company_id, "msisdn": msisdn}, session=session)
        return sorted([limit_from(doc) async for doc in cursor], key=lambda limit: limit.kind)

    async def of_numbers(
        self, msisdns: Sequence[str], session: Session = None
    ) -> dict[str, list[SpendingLimit]]:
        found: dict[str, list[SpendingLimit]] = {}
        cursor = self._limits.find({"msisdn": {"$in": list(msisdns)}}, session=session)
        async for doc in cursor:
            found.setdefault(doc["msisdn"], []).append(limit_from(doc))
        return found

    async def put(
        self, limit: SpendingLimit, actor: str, at: datetime, session: AsyncClientSession
    ) -> None:
        await self._limits.replace_one(
            {"_id": f"{limit.msisdn}:{limit.kind}"},
            {
                "_id": f"{limit.msisdn}:{limit.kind}",
                "company_id": limit.company_id,
                "msisdn": limit.msisdn,
                "kind": limit.kind,
                "amount": limit.amount,
                "action": limit.action,
                "set_by": actor,
                "set_at": at,
            },
            upsert=True,
            session=session,
        )

    async def remove(
        self, company_id: str, msisdn: str, kind: str, session: AsyncClientSession
    ) -> bool:
        result = await self._limits.delete_one(
            {"_id": f"{msisdn}:{kind}", "company_id": company_id}, session=session
        )
        return result.deleted_count == 1

    async def block_set(
        self, company_id: str, msisdn: str, period: str, session: AsyncClientSession
    ) -> bool:
        """Records this month's limit block of the number; False when it was set already."""
        key = f"{msisdn}:{period}"
        existing = await self._blocks.find_one({"_id": key}, session=session)
        if existing is not None and not existing.get("lifted"):
            return False
        await self._blocks.replace_one(
            {"_id": key},
            {
                "_id": key,
                "company_id": company_id,
                "msisdn": msisdn,
                "period": period,
                "lifted": False,
            },
            upsert=True,
            session=session,
        )
        return True

    async def active_block(
        self, company_id: str, msisdn: str, period: str, session: AsyncClientSession
    ) -> bool:
        doc = await self._blocks.find_one(
            {"_id": f"{msisdn}:{period}", "company_id": company_id, "lifted": False},
            session=session,
        )
        return doc is not None

    async def lift(
        self, company_id: str, msisdn: str, period: str, session: AsyncClientSession
    ) -> bool:
        """Active → lifted, once (two schedulers never both lift it)."""
        result = await self._blocks.update_one(
            {"_id": f"{msisdn}:{period}", "company_id": company_id, "lifted": False},
            {"$set": {"lifted": True}},
            session=session,
        )
        return result.modified_count == 1

    async def ended(self, period: str, limit: int = 200) -> list[Doc]:
        """Active limit blocks of months before `period`."""
        return (
            await self._blocks.find({"lifted": False, "period": {"$lt": period}})
            .limit(limit)
            .to_list()
        )


class FeeStore:
    """Monthly fees charged, one row per number and period (what makes a run idempotent),
    and the catalogue's monthly prices."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._fees = db["subscription_fees"]
        self._prices = db["catalogue_prices"]

    async def ensure_indexes(self) -> None:
        await self._fees.create_index([("company_id", ASCENDING), ("period", ASCENDING)])

    async def record_price(self, item_id: str, kopecks: int, session: AsyncClientSession) -> None:
        await self._prices.update_one(
            {"_id": item_id}, {"$set": {"monthly_kopecks": kopecks}}, upsert=True, session=session
        )

    async def prices(self) -> dict[str, int]:
        return {doc["_id"]: doc["monthly_kopecks"] async for doc in self._prices.find({})}

    async def charged(
        self, period: str, msisdns: Sequence[str], session: Session = None
    ) -> set[str]:
        cursor = self._fees.find(
            {"_id": {"$in": [f"{period}:{m}" for m in msisdns]}}, {"msisdn": 1}, session=session
        )
        return {doc["msisdn"] async for doc in cursor}

    async def insert(self, rows: Sequence[Doc], session: AsyncClientSession) -> None:
        await self._fees.insert_many(list(rows), session=session)
