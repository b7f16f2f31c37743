"""Billing's copy of catalog's numbers and hierarchy nodes, fed by catalog's events, and
which account each number is billed to (billing's own fact).

A number keeps its node id; its path (for scope checks) is walked from the copy of the
nodes when needed, so a node that moves needs no event per number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]
Session = AsyncClientSession | None


@dataclass(frozen=True)
class AddedNumber:
    """A number catalog added, and the account it is to be billed to ("" for none yet)."""

    msisdn: str
    node_id: str
    tariff_id: str
    account_id: str = ""


class NodeCopy:
    def __init__(self, db: AsyncDatabase) -> None:
        self._nodes = db["hierarchy_nodes"]

    async def ensure_indexes(self) -> None:
        await self._nodes.create_index([("company_id", ASCENDING), ("_id", ASCENDING)])

    async def record(
        self, company_id: str, node_id: str, parent_id: str, session: AsyncClientSession
    ) -> None:
        await self._nodes.update_one(
            {"_id": node_id, "company_id": company_id},
            {"$set": {"parent_id": parent_id or None}},
            upsert=True,
            session=session,
        )

    async def forget(self, company_id: str, node_id: str, session: AsyncClientSession) -> None:
        await self._nodes.delete_one({"_id": node_id, "company_id": company_id}, session=session)

    async def path(self, company_id: str, node_id: str) -> tuple[str, ...]:
        """The node's ancestors, root first, and the node (as far as the copy knows)."""
        docs = await self._nodes.find({"company_id": company_id}, {"parent_id": 1}).to_list()
        parents = {doc["_id"]: doc.get("parent_id") for doc in docs}
        path: list[str] = []
        current: str | None = node_id
        while current and current not in path:
            path.append(current)
            current = parents.get(current)
        return tuple(reversed(path))


class NumberCopy:
    """`_id` is the MSISDN; every read names the company."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._numbers = db["billing_numbers"]
        self._guards = db["company_guards"]

    async def guard(self, company_id: str, session: AsyncClientSession) -> None:
        """A write to the company's one guard document: two transactions that both call
        it conflict, and one runs again on what the other committed. A number arriving
        while the company opens its first account is so never left without one (each
        would otherwise miss the other's write)."""
        await self._guards.update_one(
            {"_id": company_id}, {"$inc": {"writes": 1}}, upsert=True, session=session
        )

    async def ensure_indexes(self) -> None:
        await self._numbers.create_index(
            [("company_id", ASCENDING), ("account_id", ASCENDING), ("_id", ASCENDING)]
        )

    async def get(self, company_id: str, msisdn: str, session: Session = None) -> Doc | None:
        return await self._numbers.find_one(
            {"_id": msisdn, "company_id": company_id}, session=session
        )

    async def get_many(self, msisdns: Sequence[str], session: Session = None) -> dict[str, Doc]:
        """The numbers of a usage batch, whichever company has them (the operator's feed)."""
        cursor = self._numbers.find({"_id": {"$in": list(msisdns)}}, session=session)
        return {doc["_id"]: doc async for doc in cursor}

    async def known(
        self, company_id: str, msisdns: Sequence[str], session: AsyncClientSession
    ) -> set[str]:
        """Which of `msisdns` the company's copy holds already."""
        cursor = self._numbers.find(
            {"_id": {"$in": list(msisdns)}, "company_id": company_id}, {"_id": 1}, session=session
        )
        return {doc["_id"] async for doc in cursor}

    async def added(
        self, company_id: str, numbers: Sequence[AddedNumber], session: AsyncClientSession
    ) -> None:
        """Catalog's new numbers, in one bulk write: a number known already keeps the
        account it is billed to."""
        await self._numbers.bulk_write(
            [
                UpdateOne(
                    {"_id": number.msisdn},
                    {
                        "$set": {
                            "company_id": company_id,
                            "node_id": number.node_id,
                            "tariff_id": number.tariff_id,
                        },
                        "$setOnInsert": {
                            "account_id": number.account_id,
                            "account_version": 1 if number.account_id else 0,
                            "services": [],
                        },
                    },
                    upsert=True,
                )
                for number in numbers
            ],
            ordered=True,
            session=session,
        )

    async def update(
        self, changes: Sequence[tuple[str, str, Doc]], session: AsyncClientSession
    ) -> None:
        """(company, number, change) applied in order, in one bulk write."""
        if not changes:
            return
        await self._numbers.bulk_write(
            [
                UpdateOne({"_id": msisdn, "company_id": company}, change)
                for company, msisdn, change in changes
            ],
            ordered=True,
            session=session,
        )

    async def rename(
        self, company_id: str, old: str, new: str, node_id: str, session: AsyncClientSession
    ) -> None:
        """Number replacement: the card, and its account, move to the new number."""
        doc = await self.get(company_id, old, session)
        if doc is None:
            return
        await self._numbers.delete_one({"_id": old, "company_id": company_id}, session=session)
        await self._numbers.replace_one(
            {"_id": new}, {**doc, "_id": new, "node_id": node_id}, upsert=True, session=session
        )

    async def set_account(
        self, company_id: str, msisdns: Sequence[str], account_id: str, session: AsyncClientSession
    ) -> dict[str, int]:
        """The numbers billed to `account_id`; returns each one's move version (it grows
        with every move: consumers apply a move only when it is newer than the last)."""
        await self._numbers.bulk_write(
            [
                UpdateOne(
                    {"_id": m, "company_id": company_id},
                    {"$set": {"account_id": account_id}, "$inc": {"account_version": 1}},
                )
                for m in msisdns
            ],
            session=session,
        )
        cursor = self._numbers.find(
            {"_id": {"$in": list(msisdns)}, "company_id": company_id},
            {"account_version": 1},
            session=session,
        )
        return {doc["_id"]: doc["account_version"] async for doc in cursor}

    async def of_account(
        self, company_id: str, account_id: str, session: Session = None
    ) -> list[str]:
        cursor = self._numbers.find(
            {"company_id": company_id, "account_id": account_id}, {"_id": 1}, session=session
        )
        return [doc["_id"] async for doc in cursor]

    async def counts(self, company_id: str) -> dict[str, int]:
        """Numbers per account of the company."""
        counted: dict[str, int] = {}
        async for doc in self._numbers.find({"company_id": company_id}, {"account_id": 1}):
            account = doc.get("account_id") or ""
            counted[account] = counted.get(account, 0) + 1
        return counted

    async def billed(self, company_id: str = "") -> list[Doc]:
        """Numbers with an account (the monthly fees): of one company, or of every one."""
        criteria: Doc = {"account_id": {"$nin": ["", None]}}
        if company_id:
            criteria["company_id"] = company_id
        return await self._numbers.find(criteria).sort("_id", ASCENDING).to_list()
