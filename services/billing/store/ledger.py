"""Accounts, their balances and the ledger, in MongoDB.

A posting is written in the caller's transaction: each line is one `$inc` of its
account's balance (and of the stored available amount, which moves with it), then its
entries, each with the balance its account was left with. A line that must not take the
account below its floor carries the condition in the update's filter (`available` at least
the amount), so the check and the debit are one atomic write: two concurrent transfers
never both spend the same money. Entries are only ever inserted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.billing.domain.accounts import Account, BillDelivery, available
from services.billing.domain.ledger import OPERATOR_ACCOUNTS, Entry, Posting
from services.kit.errors import InsufficientFunds, NotFound
from services.kit.ids import new_id
from services.kit.keyset import OLDEST_FIRST, keyset_page

Doc = dict[str, Any]
Session = AsyncClientSession | None
OPERATOR = "operator"  # the owner of the operator's own accounts
OPENED = datetime(2000, 1, 1, tzinfo=UTC)


def account_doc(account: Account) -> Doc:
    return {
        "_id": account.id,
        "company_id": account.company_id,
        "number": account.number,
        "name": account.name,
        "settlement_method": account.settlement_method,
        "credit_limit": account.credit_limit,
        "balance": account.balance,
        "available": account.available,
        "bill_delivery": {
            "method": account.bill_delivery.method,
            "address": account.bill_delivery.address,
        },
        "blocked": account.blocked,
        "opened_at": account.opened_at,
        "low_balance_threshold": account.low_balance_threshold,
    }


def account_from(doc: Doc, number_count: int = 0) -> Account:
    delivery = doc.get("bill_delivery") or {}
    return Account(
        id=doc["_id"],
        company_id=doc["company_id"],
        number=doc["number"],
        settlement_method=doc["settlement_method"],
        opened_at=doc["opened_at"],
        name=doc.get("name", ""),
        balance=doc["balance"],
        credit_limit=doc.get("credit_limit", 0),
        bill_delivery=BillDelivery(delivery.get("method", "email"), delivery.get("address", "")),
        blocked=doc.get("blocked", False),
        block_version=doc.get("block_version", 0),
        number_count=number_count,
        low_balance_threshold=doc.get("low_balance_threshold", 0),
    )


def entry_from(doc: Doc) -> Entry:
    return Entry(
        id=doc["_id"],
        posting_id=doc["posting_id"],
        account_id=doc["account_id"],
        company_id=doc["company_id"],
        at=doc["at"],
        kind=doc["kind"],
        amount=doc["amount"],
        balance_after=doc["balance_after"],
        ref=doc.get("ref", ""),
        description=doc.get("description", ""),
    )


class LedgerStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._accounts = db["accounts"]
        self._entries = db["entries"]

    async def ensure_indexes(self) -> None:
        await self._accounts.create_index([("company_id", ASCENDING), ("opened_at", ASCENDING)])
        await self._accounts.create_index("number", unique=True)
        await self._entries.create_index(
            [("company_id", ASCENDING), ("account_id", ASCENDING), ("at", ASCENDING)]
        )
        await self._entries.create_index("posting_id")
        for account_id in OPERATOR_ACCOUNTS:  # made once here: never upserted concurrently
            await self._accounts.update_one(
                {"_id": account_id},
                {
                    "$setOnInsert": {
                        "company_id": OPERATOR,
                        "number": account_id,
                        "settlement_method": "operator",
                        "balance": 0,
                        "available": 0,
                        "opened_at": OPENED,
                    }
                },
                upsert=True,
            )

    # --- accounts ---

    async def insert(self, account: Account, session: Session = None) -> None:
        await self._accounts.insert_one(account_doc(account), session=session)

    async def get(self, company_id: str, account_id: str, session: Session = None) -> Account:
        doc = await self._accounts.find_one(
            {"_id": account_id, "company_id": company_id}, session=session
        )
        if doc is None:
            raise NotFound("no such account")
        return account_from(doc)

    async def of_company(self, company_id: str, session: Session = None) -> list[Account]:
        cursor = self._accounts.find({"company_id": company_id}, session=session).sort(
            [("opened_at", ASCENDING), ("_id", ASCENDING)]
        )
        return [account_from(doc) async for doc in cursor]

    async def first_of(self, company_id: str, session: Session = None) -> Account | None:
        accounts = await self.of_company(company_id, session)
        return accounts[0] if accounts else None

    async def save_terms(self, account: Account, session: AsyncClientSession) -> Account:
        """Settlement method, credit limit, bill delivery, name, low-balance threshold. The
        available amount is set again from the balance read in this transaction (a
        concurrent posting on the account conflicts with the write, and the transaction runs
        again)."""
        current = await self.get(account.company_id, account.id, session)
        fields = {
            "settlement_method": account.settlement_method,
            "credit_limit": account.credit_limit,
            "name": account.name,
            "low_balance_threshold": account.low_balance_threshold,
            "bill_delivery": {
                "method": account.bill_delivery.method,
                "address": account.bill_delivery.address,
            },
            "available": available(
                account.settlement_method, current.balance, account.credit_limit
            ),
        }
        await self._accounts.update_one(
            {"_id": account.id, "company_id": account.company_id, "balance": current.balance},
            {"$set": fields},
            session=session,
        )
        return await self.get(account.company_id, account.id, session)

    async def mark_blocked(
        self, company_id: str, account_id: str, blocked: bool, session: AsyncClientSession
    ) -> int:
        """Turns the account's block flag; returns the block's new version."""
        doc = await self._accounts.find_one_and_update(
            {"_id": account_id, "company_id": company_id},
            {"$set": {"blocked": blocked}, "$inc": {"block_version": 1}},
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return int(doc["block_version"]) if doc else 0

    # --- postings ---

    async def post(
        self,
        posting: Posting,
        session: AsyncClientSession,
        *,
        guarded: Sequence[str] = (),
    ) -> tuple[dict[str, Account], list[Entry]]:
        """Writes the posting; returns the company accounts it touched, as they are after
        it, and the entries written. An account in `guarded` must keep its available
        amount at or above zero: if it would not, nothing is written (InsufficientFunds,
        and the transaction ends)."""
        after: dict[str, Account] = {}
        entries: list[Doc] = []
        for line in posting.lines:
            owner = OPERATOR if line.account_id in OPERATOR_ACCOUNTS else posting.company_id
            criteria: Doc = {"_id": line.account_id, "company_id": owner}
            if line.account_id in guarded:
                # available >= -amount, said as > -amount - 1: whole kopecks, and a strict
                # bound is exact on every server (no inclusive-bound quirk).
                criteria["available"] = {"$gt": -line.amount - 1}
            doc = await self._accounts.find_one_and_update(
                criteria,
                {"$inc": {"balance": line.amount, "available": line.amount}},
                return_document=ReturnDocument.AFTER,
                session=session,
            )
            if doc is None:
                await self._refusal(owner, line.account_id, session)
            if owner != OPERATOR:
                after[line.account_id] = account_from(doc)
            entries.append(_entry_doc(posting, line.account_id, owner, line.amount, doc))
        await self._entries.insert_many(entries, session=session)
        return after, [entry_from(doc) for doc in entries]

    async def _refusal(self, owner: str, account_id: str, session: AsyncClientSession) -> None:
        exists = await self._accounts.find_one(
            {"_id": account_id, "company_id": owner}, {"_id": 1}, session=session
        )
        if exists is None:
            raise NotFound("no such account")
        raise InsufficientFunds("the account's available amount does not cover this")

    # --- the statement ---

    async def entries(
        self,
        company_id: str,
        account_id: str,
        start: datetime | None,
        end: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Entry]:
        """Entries in time order, [start, end), after a keyset (at, id)."""
        criteria: Doc = {"company_id": company_id, "account_id": account_id}
        window: Doc = {}
        if start is not None:
            window["$gte"] = start
        if end is not None:
            window["$lt"] = end
        if window:
            criteria["at"] = window
        docs = await keyset_page(self._entries, criteria, OLDEST_FIRST, after=after, limit=limit)
        return [entry_from(doc) for doc in docs]

    async def balance_at(self, company_id: str, account_id: str, moment: datetime) -> int:
        """The account's balance just before `moment`: after its last earlier entry."""
        criteria = {"company_id": company_id, "account_id": account_id, "at": {"$lt": moment}}
        cursor = (
            self._entries.find(criteria).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(1)
        )
        last = [doc async for doc in cursor]
        return int(last[0]["balance_after"]) if last else 0

    async def charged_between(
        self, company_id: str, account_id: str, start: datetime, end: datetime
    ) -> int:
        """Kopecks charged (usage and fees) in [start, end), as a positive number."""
        cursor = self._entries.find(
            {
                "company_id": company_id,
                "account_id": account_id,
                "at": {"$gte": start, "$lt": end},
                "kind": {"$in": ["usage", "subscription_fee", "operation_fee"]},
            },
            {"amount": 1},
        )
        return -sum([doc["amount"] async for doc in cursor])


def _entry_doc(posting: Posting, account_id: str, owner: str, amount: int, after: Doc) -> Doc:
    return {
        "_id": new_id("ent"),
        "posting_id": posting.id,
        "account_id": account_id,
        "company_id": owner,
        "posting_company_id": posting.company_id,
        "at": posting.at,
        "kind": posting.kind,
        "amount": amount,
        "balance_after": after["balance"],
        "ref": posting.ref,
        "description": posting.description,
    }
