"""Writes of the operations on one number, always inside the use case's transaction.

The number was read in the same transaction within the caller's scope; a concurrent
change of the same number makes one of the transactions conflict and run again on what
the other left. Uniqueness checks of a SIM card look across companies and the free pool
by design (they tell only whether the card is taken).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.catalog.domain.numbers import Number
from services.catalog.store.numbers import number_doc
from services.kit.errors import Conflict


class NumberChanges:
    def __init__(self, db: AsyncDatabase) -> None:
        self._numbers = db["numbers"]
        self._free = db["free_numbers"]
        self._retired = db["retired_numbers"]

    async def ensure_indexes(self) -> None:
        await self._retired.create_index([("company_id", ASCENDING), ("replaced_by", ASCENDING)])

    async def save(self, number: Number, session: AsyncClientSession) -> None:
        """The number's whole document as the domain left it."""
        try:
            await self._numbers.replace_one(
                {"_id": number.msisdn, "company_id": number.company_id},
                number_doc(number),
                session=session,
            )
        except DuplicateKeyError as error:  # the SIM card was given out meanwhile
            raise Conflict("the SIM card is taken", reason="ALREADY_EXISTS") from error

    async def save_all(self, numbers: Sequence[Number], session: AsyncClientSession) -> None:
        """Numbers changed by a bulk operation's batch, in one write. A SIM card is never
        among their changes, so no uniqueness can be hit here."""
        if numbers:
            await self._numbers.bulk_write(
                [
                    ReplaceOne({"_id": n.msisdn, "company_id": n.company_id}, number_doc(n))
                    for n in numbers
                ],
                ordered=False,
                session=session,
            )

    async def sim_taken(self, iccid: str, session: AsyncClientSession) -> bool:
        """Whether any company's number or the free pool has the SIM card."""
        for collection in (self._numbers, self._free):
            if await collection.find_one({"iccid": iccid}, {"_id": 1}, session=session):
                return True
        return False

    async def take_free(self, msisdn: str | None, session: AsyncClientSession) -> str | None:
        """A number out of the free pool: the given one, or the lowest free one; None when
        there is no such free number."""
        criteria = {"_id": msisdn} if msisdn else {}
        doc = await self._free.find_one_and_delete(
            criteria, sort=[("_id", ASCENDING)], session=session
        )
        return doc["_id"] if doc else None

    async def replace_msisdn(
        self, old: Number, new: Number, at: datetime, session: AsyncClientSession
    ) -> None:
        """The card moves to the new number; the old number leaves the company and is
        kept as retired (with the number that replaced it), not put back in the pool."""
        await self._numbers.delete_one(
            {"_id": old.msisdn, "company_id": old.company_id}, session=session
        )
        await self._numbers.insert_one(number_doc(new), session=session)
        await self._retired.replace_one(
            {"_id": old.msisdn},
            {
                "_id": old.msisdn,
                "company_id": old.company_id,
                "iccid": old.iccid,
                "replaced_by": new.msisdn,
                "retired_at": at,
            },
            upsert=True,
            session=session,
        )
