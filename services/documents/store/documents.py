"""Financial documents as made, and their numbers.

`documents`: one per (operation, account, type): its number, period, sums and file.
`document_numbers`: one counter per company, year and type. A number is taken with `$inc`
in the transaction that inserts the document, so a number exists exactly when its document
does: no gaps, none given twice (two transactions taking the same counter conflict, and
one is retried).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.keyset import NEWEST_CREATED_FIRST, keyset_page

Doc = dict[str, Any]


class DocumentStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._documents = db["documents"]
        self._numbers = db["document_numbers"]

    async def ensure_indexes(self) -> None:
        await self._documents.create_index(
            [("company_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self._documents.create_index(
            [("operation_id", ASCENDING), ("account_id", ASCENDING), ("type", ASCENDING)],
            unique=True,
        )

    async def of_operation(self, operation_id: str, account_id: str, doc_type: str) -> Doc | None:
        return await self._documents.find_one(
            {"operation_id": operation_id, "account_id": account_id, "type": doc_type}
        )

    async def next_number(
        self, company_id: str, year: int, doc_type: str, session: AsyncClientSession
    ) -> int:
        counter = await self._numbers.find_one_and_update(
            {"_id": f"{company_id}:{year}:{doc_type}"},
            {
                "$inc": {"seq": 1},
                "$setOnInsert": {"company_id": company_id, "year": year, "type": doc_type},
            },
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return int(counter["seq"])

    async def insert(self, document: Doc, session: AsyncClientSession) -> None:
        await self._documents.insert_one(document, session=session)

    async def set_file(self, document_id: str, file: Doc) -> None:
        await self._documents.update_one({"_id": document_id}, {"$set": {"file": file}})

    async def get(self, company_id: str, document_id: str) -> Doc | None:
        return await self._documents.find_one({"_id": document_id, "company_id": company_id})

    async def page(
        self,
        company_id: str,
        *,
        account_id: str,
        doc_type: str,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Doc]:
        criteria: Doc = {"company_id": company_id, "file": {"$ne": None}}
        if account_id:
            criteria["account_id"] = account_id
        if doc_type:
            criteria["type"] = doc_type
        return await keyset_page(
            self._documents, criteria, NEWEST_CREATED_FIRST, after=after, limit=limit
        )

    async def forget_file(self, file_id: str) -> None:
        await self._documents.update_many({"file.id": file_id}, {"$set": {"file": None}})
