"""Which account each of a company's numbers is billed to, as billing says
(vm.billing.number.account_changed.v1): catalog shows it on the number and finds an
account's numbers by it."""

from __future__ import annotations

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase


class AccountLinks:
    def __init__(self, db: AsyncDatabase) -> None:
        self._numbers = db["numbers"]
        self._versions = db["account_block_versions"]

    async def newer_block(
        self, company_id: str, account_id: str, version: int, session: AsyncClientSession
    ) -> bool:
        """Records `version` of the account's financial block if it is newer than the last
        one applied; False for an older or repeated one (it is then ignored)."""
        key = f"{company_id}:{account_id}"
        seen = await self._versions.find_one({"_id": key}, session=session)
        if seen is not None and seen["version"] >= version:
            return False
        await self._versions.replace_one(
            {"_id": key}, {"_id": key, "version": version}, upsert=True, session=session
        )
        return True

    async def ensure_indexes(self) -> None:
        await self._numbers.create_index([("company_id", ASCENDING), ("account_id", ASCENDING)])

    async def link(
        self, company_id: str, msisdn: str, account_id: str, session: AsyncClientSession
    ) -> None:
        await self._numbers.update_one(
            {"_id": msisdn, "company_id": company_id},
            {"$set": {"account_id": account_id}},
            session=session,
        )
