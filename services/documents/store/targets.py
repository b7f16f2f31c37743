"""The numbers of a report as catalog showed them to the caller when the report was asked
for: `report_numbers`, one per number, `_id` "<operation>:<msisdn>", read back in number
order by the worker (which runs later, without the caller's credential)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError

from services.kit.mongo import DUPLICATE_KEY

Doc = dict[str, Any]
CHUNK = 1_000


class ReportNumbers:
    def __init__(self, db: AsyncDatabase) -> None:
        self._numbers = db["report_numbers"]

    async def ensure_indexes(self) -> None:
        await self._numbers.create_index([("operation_id", ASCENDING), ("msisdn", ASCENDING)])

    async def put(self, operation_id: str, numbers: Sequence[Doc]) -> None:
        """Repeatable: a number listed already is left as it is."""
        for start in range(0, len(numbers), CHUNK):
            documents = [
                {
                    **number,
                    "_id": f"{operation_id}:{number['msisdn']}",
                    "operation_id": operation_id,
                }
                for number in numbers[start : start + CHUNK]
            ]
            try:
                await self._numbers.insert_many(documents, ordered=False)
            except BulkWriteError as error:  # listed before (a repeated request)
                if any(e.get("code") != DUPLICATE_KEY for e in error.details["writeErrors"]):
                    raise

    async def each(self, operation_id: str) -> AsyncIterator[Doc]:
        cursor = self._numbers.find({"operation_id": operation_id}).sort("msisdn", ASCENDING)
        async for doc in cursor.batch_size(CHUNK):
            yield doc

    async def msisdns(self, operation_id: str) -> list[str]:
        cursor = self._numbers.find({"operation_id": operation_id}, {"msisdn": 1}).sort(
            "msisdn", ASCENDING
        )
        return [doc["msisdn"] async for doc in cursor]

    async def delete(self, operation_id: str) -> None:
        await self._numbers.delete_many({"operation_id": operation_id})
