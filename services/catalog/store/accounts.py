"""Which account each of a company's numbers is billed to, as billing says
(vm.billing.number.account_changed.v1): catalog shows it on the number and finds an
account's numbers by it."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase


class AccountLinks:
    def __init__(self, db: AsyncDatabase) -> None:
        self._numbers = db["numbers"]
        self._versions = db["account_block_versions"]

    async def newer_block(
        self,
        company_id: str,
        account_id: str,
        version: int,
        blocked: bool,
        session: AsyncClientSession,
    ) -> bool:
        """Records `version` of the account's financial block (and whether it is on) if it
        is newer than the last one known; False for an older or repeated one (it is then
        ignored)."""
        key = f"{company_id}:{account_id}"
        seen = await self._versions.find_one({"_id": key}, session=session)
        if seen is not None and seen["version"] >= version:
            return False
        await self._versions.replace_one(
            {"_id": key},
            {"_id": key, "version": version, "blocked": blocked},
            upsert=True,
            session=session,
        )
        return True

    async def block_known(
        self, company_id: str, account_id: str, session: AsyncClientSession
    ) -> tuple[int, bool] | None:
        """The newest version of the account's financial block known here, and whether it
        is on; None when none is known."""
        seen = await self._versions.find_one({"_id": f"{company_id}:{account_id}"}, session=session)
        if seen is None:
            return None
        return int(seen["version"]), bool(seen.get("blocked", False))

    async def ensure_indexes(self) -> None:
        await self._numbers.create_index([("company_id", ASCENDING), ("account_id", ASCENDING)])

    async def link(
        self,
        company_id: str,
        msisdn: str,
        account_id: str,
        version: int,
        session: AsyncClientSession,
    ) -> bool:
        """The number billed to `account_id` if this move (`version`) is newer than the last
        one recorded; False for an older one (ignored). Version 0: a producer that does not
        tell it, applied as it comes."""
        criteria: dict = {"_id": msisdn, "company_id": company_id}
        if version:
            # "older or never told" as one clause: a top-level $or beside the _id makes the
            # embedded database scan every number of every company for each move (73 ms
            # against 0.8 ms at 10,000 numbers).
            criteria["account_version"] = {"$not": {"$gte": version}}
        linked = await self._numbers.update_one(
            criteria,
            {"$set": {"account_id": account_id, "account_version": version}},
            session=session,
        )
        return linked.matched_count == 1

    async def billed_to(
        self,
        company_id: str,
        msisdns: Sequence[str],
        account_id: str,
        session: AsyncClientSession,
    ) -> list[str]:
        """Those of the numbers billed to `account_id` as far as is known here, or to no
        account yet (their first move not told yet): a number known to be billed elsewhere
        follows its own account."""
        cursor = self._numbers.find(
            {
                "_id": {"$in": list(msisdns)},
                "company_id": company_id,
                "account_id": {"$in": [account_id, "", None]},
            },
            {"_id": 1},
            session=session,
        )
        return [doc["_id"] async for doc in cursor]
