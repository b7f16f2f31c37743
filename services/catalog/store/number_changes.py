"""Writes of the operations on one number, always inside the use case's transaction.

The number was read in the same transaction within the caller's scope; a concurrent
change of the same number makes one of the transactions conflict and run again on what
the other left. Uniqueness checks of a SIM card look across companies and the free pool
by design (they tell only whether the card is taken).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.catalog.domain.numbers import Number
from services.catalog.store.numbers import number_doc, number_from


def fields_changed(before: Number, after: Number) -> dict[str, Any]:
    """The fields of the number's document that a change sets: written with `$set` alone,
    so a note or a move written meanwhile stays."""
    old = number_doc(before)
    return {k: v for k, v in number_doc(after).items() if old.get(k) != v}


class NumberChanges:
    def __init__(self, db: AsyncDatabase) -> None:
        self.db = db
        self._numbers = db["numbers"]
        self._free = db["free_numbers"]
        self._retired = db["retired_numbers"]

    async def ensure_indexes(self) -> None:
        await self._retired.create_index([("company_id", ASCENDING), ("replaced_by", ASCENDING)])

    async def get(self, company_id: str, msisdn: str, session: AsyncClientSession) -> Number | None:
        """The company's number as it is now (the system's own changes: no caller's
        scope)."""
        doc = await self._numbers.find_one(
            {"_id": msisdn, "company_id": company_id}, session=session
        )
        return number_from(doc) if doc else None

    async def set_fields(
        self, number: Number, fields: Mapping[str, Any], session: AsyncClientSession
    ) -> None:
        """Only the fields a change of ours alone sets (the node): a change of the
        network in flight on the number (held by its intent) writes only its own."""
        if fields:
            await self._numbers.update_one(
                {"_id": number.msisdn, "company_id": number.company_id},
                {"$set": dict(fields)},
                session=session,
            )

    async def sim_taken(self, iccid: str, session: AsyncClientSession) -> bool:
        """Whether any company's number or the free pool has the SIM card."""
        for collection in (self._numbers, self._free):
            if await collection.find_one({"iccid": iccid}, {"_id": 1}, session=session):
                return True
        return False

    async def take_free(
        self, msisdn: str | None, session: AsyncClientSession
    ) -> dict[str, Any] | None:
        """A number out of the free pool (its document): the given one, or the lowest free
        one; None when there is no such free number."""
        criteria = {"_id": msisdn} if msisdn else {}
        return await self._free.find_one_and_delete(
            criteria, sort=[("_id", ASCENDING)], session=session
        )

    async def put_free(self, doc: Mapping[str, Any], session: AsyncClientSession) -> None:
        """A number taken from the pool for a replacement the network refused: back."""
        await self._free.replace_one({"_id": doc["_id"]}, dict(doc), upsert=True, session=session)

    async def replace_number(
        self,
        company_id: str,
        old_msisdn: str,
        fields: Mapping[str, Any],
        at: datetime,
        session: AsyncClientSession,
    ) -> bool:
        """A replacement the network confirmed (its intent finished in the same
        transaction): the number's document as it is now (its notes, its node) under the
        new number with the change's fields, the old number retired; False when the
        company has no such number."""
        old = await self._numbers.find_one(
            {"_id": old_msisdn, "company_id": company_id}, session=session
        )
        if old is None:
            return False
        new = old | dict(fields)
        await self._numbers.delete_one({"_id": old_msisdn}, session=session)
        await self._numbers.insert_one(new, session=session)
        await self._retired.replace_one(
            {"_id": old_msisdn},
            {
                "_id": old_msisdn,
                "company_id": old["company_id"],
                "iccid": old["iccid"],
                "replaced_by": new["_id"],
                "retired_at": at,
            },
            upsert=True,
            session=session,
        )
        return True
