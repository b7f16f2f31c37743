"""Which account each of a company's numbers is billed to, as billing says
(vm.billing.number.account_changed.v1): catalog shows it on the number and finds an
account's numbers by it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pymongo import ASCENDING, ReplaceOne, UpdateOne
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

    async def ensure_indexes(self) -> None:
        await self._numbers.create_index([("company_id", ASCENDING), ("account_id", ASCENDING)])

    async def move_versions(
        self, company_id: str, msisdns: Iterable[str], session: AsyncClientSession
    ) -> dict[str, int]:
        """The version of the last move recorded for each of these numbers of the company
        (-1 when none was told yet); a number that is not the company's is left out."""
        cursor = self._numbers.find(
            {"_id": {"$in": list(msisdns)}, "company_id": company_id},
            {"account_version": 1},
            session=session,
        )
        return {doc["_id"]: doc.get("account_version", -1) async for doc in cursor}

    async def link_all(
        self, company_id: str, moves: Mapping[str, tuple[str, int]], session: AsyncClientSession
    ) -> None:
        """Each number (msisdn → its account and move version) billed to its account, in
        one write. The caller decided which moves are newer on `move_versions` read in the
        same transaction: a concurrent move of the same number makes one of the two
        transactions conflict and run again."""
        if not moves:
            return
        await self._numbers.bulk_write(
            [
                UpdateOne(
                    {"_id": msisdn, "company_id": company_id},
                    {"$set": {"account_id": account_id, "account_version": version}},
                )
                for msisdn, (account_id, version) in moves.items()
            ],
            ordered=False,
            session=session,
        )

    async def blocks_known(
        self, company_id: str, account_ids: Iterable[str], session: AsyncClientSession
    ) -> dict[str, tuple[int, bool]]:
        """For each of these accounts whose financial block is known here: its newest
        version and whether it is on."""
        keys = {f"{company_id}:{account_id}": account_id for account_id in account_ids}
        cursor = self._versions.find({"_id": {"$in": list(keys)}}, session=session)
        return {
            keys[doc["_id"]]: (int(doc["version"]), bool(doc.get("blocked", False)))
            async for doc in cursor
        }

    async def record_blocks(
        self,
        company_id: str,
        blocks: Mapping[str, tuple[int, bool]],
        session: AsyncClientSession,
    ) -> None:
        """Accounts' financial blocks (account → version, whether on) first learnt from
        a move of one of their numbers; the caller read them as older or unknown."""
        if not blocks:
            return
        await self._versions.bulk_write(
            [
                ReplaceOne(
                    {"_id": f"{company_id}:{account_id}"},
                    {"_id": f"{company_id}:{account_id}", "version": version, "blocked": on},
                    upsert=True,
                )
                for account_id, (version, on) in blocks.items()
            ],
            ordered=False,
            session=session,
        )

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
