"""Keyset pages: the audit log's next page, read as the store reads it beside the query
every list used before (one `find` whose keyset filter is a top-level `$or`).

On one database: the company's log of `COMPANY_ENTRIES` entries beside `OTHER_ENTRIES` of
other companies, with identity's own indexes, three entries to a second (so pages end
inside ties). Each page of 50 is read `ROUNDS` times, median:

- `first page`: the company's newest 50; the embedded database reads every entry of the
  company's range before the limit, so this is the floor of any page here;
- `store`: `AuditStore.page` after the key of the page before (services/kit/keyset.py:
  the rest of the key's tie, then the range beyond it);
- `one $or`: the same page as one `find` with `{$or: [{at < t}, {at = t, _id < id}]}`,
  which the embedded database answers by scanning the whole collection.

The second page and one in the middle of the log; `store ÷ one $or` is the time the store's
page takes of the old form's.

One account's transfers likewise: `TRANSFERS` of the company among `ACCOUNTS` accounts
beside `OTHER_TRANSFERS` of other companies; a page of 50 of one account as the store
reads it (those it gave and those it took, each a range of its own index, merged) beside
one `find` with `{$or: [{from: account}, {to: account}]}`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import DESCENDING, AsyncMongoClient

from services.billing.domain.transfers import Transfer
from services.billing.store.money import TransferStore, transfer_doc
from services.identity.domain.audit import AuditQuery
from services.identity.store.audit import AuditStore
from tests.support.servers import MongoServer

COMPANY_ENTRIES = 5_000
OTHER_ENTRIES = 20_000
OTHER_COMPANIES = 50
PAGE = 50
ROUNDS = 7
COMPANY = "cmp_measured"
START = datetime(2026, 11, 1, tzinfo=UTC)
TRANSFERS = 2_000
OTHER_TRANSFERS = 20_000
ACCOUNTS = 10


def _entry(n: int) -> dict[str, Any]:
    company = COMPANY if n < COMPANY_ENTRIES else f"cmp_other_{n % OTHER_COMPANIES}"
    return {
        "_id": f"evt_{n:08d}",
        "company_id": company,
        "at": START + timedelta(seconds=n // 3),
        "actor": f"usr_{n % 7}",
        "actor_kind": "user",
        "type": f"vm.catalog.number.changed.v{n % 3}",
        "target": f"7916{n:07d}",
        "result": "succeeded",
        "service": "catalog",
        "summary": "номер заблокирован по просьбе клиента",
    }


async def _filled(collection: Any, document: Callable[[int], dict[str, Any]], total: int) -> None:
    """`total` documents, `document(n)` for each n, written a thousand at a time."""
    for first in range(0, total, 1000):
        await collection.insert_many([document(n) for n in range(first, min(first + 1000, total))])


async def _median_ms(read: Callable[[], Awaitable[Any]]) -> float:
    spent = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        await read()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


async def _measure(mongo: MongoServer) -> dict[str, Any]:
    client: AsyncMongoClient = AsyncMongoClient(mongo.url, tz_aware=True)
    try:
        db = client["bench_keyset"]
        store = AuditStore(db)
        await store.ensure_indexes()
        entries = db["audit_events"]
        await _filled(entries, _entry, COMPANY_ENTRIES + OTHER_ENTRIES)
        query = AuditQuery()
        sort = [("at", DESCENDING), ("_id", DESCENDING)]

        async def one_or(at: datetime, entry_id: str) -> list[dict[str, Any]]:
            criteria = {
                "company_id": COMPANY,
                "$or": [{"at": {"$lt": at}}, {"at": at, "_id": {"$lt": entry_id}}],
            }
            return await entries.find(criteria).sort(sort).limit(PAGE + 1).to_list()

        first_page = await store.page(COMPANY, query, after=None, limit=PAGE + 1)
        middle = _entry(COMPANY_ENTRIES // 2 + 1)  # inside a second's tie of three
        keys = {
            "second page": (first_page[PAGE - 1].at, first_page[PAGE - 1].id),
            "middle page": (middle["at"], middle["_id"]),
        }
        results: dict[str, Any] = {
            "company_entries": COMPANY_ENTRIES,
            "other_entries": OTHER_ENTRIES,
            "first_page_ms": await _median_ms(
                lambda: store.page(COMPANY, query, after=None, limit=PAGE + 1)
            ),
        }
        for name, key in keys.items():
            paged = await store.page(COMPANY, query, after=key, limit=PAGE + 1)
            old = await one_or(*key)
            if [entry.id for entry in paged] != [doc["_id"] for doc in old]:
                raise RuntimeError(f"the store's {name} is not the one $or's")
            store_ms = await _median_ms(
                lambda key=key: store.page(COMPANY, query, after=key, limit=PAGE + 1)
            )
            or_ms = await _median_ms(lambda key=key: one_or(*key))
            results[name] = {"store_ms": store_ms, "one_or_ms": or_ms, "ratio": store_ms / or_ms}
        results["transfers"] = await _measure_transfers(db)
        await client.drop_database("bench_keyset")
        return results
    finally:
        await client.close()


def _transfer(n: int) -> dict[str, Any]:
    ours = n < TRANSFERS
    company = COMPANY if ours else f"cmp_other_{n % OTHER_COMPANIES}"
    donor, recipient = n % ACCOUNTS, (n * 7 + 1) % ACCOUNTS
    if donor == recipient:
        recipient = (recipient + 1) % ACCOUNTS
    return transfer_doc(
        Transfer(
            id=f"trf_{n:08d}",
            company_id=company,
            from_account_id=f"acc_{company}_{donor}",
            to_account_id=f"acc_{company}_{recipient}",
            amount=100,
            status="completed",
            created_at=START + timedelta(seconds=n),
        )
    )


async def _measure_transfers(db: Any) -> dict[str, Any]:
    store = TransferStore(db)
    await store.ensure_indexes()
    transfers = db["transfers"]
    await _filled(transfers, _transfer, TRANSFERS + OTHER_TRANSFERS)
    account = f"acc_{COMPANY}_3"

    async def one_or(before: str | None) -> list[dict[str, Any]]:
        criteria: dict[str, Any] = {
            "company_id": COMPANY,
            "$or": [{"from_account_id": account}, {"to_account_id": account}],
        }
        if before:
            criteria["_id"] = {"$lt": before}
        return await transfers.find(criteria).sort("_id", DESCENDING).limit(PAGE + 1).to_list()

    first_page = await store.page(COMPANY, account, None, PAGE + 1)
    results: dict[str, Any] = {"company_transfers": TRANSFERS, "other_transfers": OTHER_TRANSFERS}
    for name, before in {"first page": None, "second page": first_page[PAGE - 1].id}.items():
        paged = await store.page(COMPANY, account, before, PAGE + 1)
        if [t.id for t in paged] != [doc["_id"] for doc in await one_or(before)]:
            raise RuntimeError(f"the store's {name} of transfers is not the one $or's")
        store_ms = await _median_ms(
            lambda before=before: store.page(COMPANY, account, before, PAGE + 1)
        )
        or_ms = await _median_ms(lambda before=before: one_or(before))
        results[name] = {"store_ms": store_ms, "one_or_ms": or_ms, "ratio": store_ms / or_ms}
    return results


def bench_keyset(mongo: MongoServer) -> dict[str, Any]:
    return asyncio.run(_measure(mongo))
