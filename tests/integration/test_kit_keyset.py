"""Keyset pages on the real embedded database: walking every page gives the list whole, in
order, once each, with ties on the sort field, a window on it and either direction; and no
page's read is a query with a top-level operator (which the embedded server reads as a scan
of the whole collection)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from services.kit.keyset import NEWEST_FIRST, KeysetOrder, keyset_page
from tests.support.mongo_commands import Finds
from tests.support.servers import MongoServer, namespace

START = datetime(2026, 1, 1, tzinfo=UTC)
OURS = {"company_id": "ours"}


@pytest.fixture
async def finds() -> Finds:
    return Finds()


@pytest.fixture
async def entries(mongo_server: MongoServer, finds: Finds) -> AsyncIterator[AsyncCollection]:
    client: AsyncMongoClient = AsyncMongoClient(
        mongo_server.url, tz_aware=True, event_listeners=[finds]
    )
    collection = client[f"{namespace()}_keyset"]["entries"]
    await collection.create_index(
        [("company_id", ASCENDING), ("at", ASCENDING), ("_id", ASCENDING)]
    )
    yield collection
    await client.drop_database(collection.database.name)
    await client.close()


async def every_page(
    entries: AsyncCollection, criteria: dict[str, Any], *, descending: bool, size: int
) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        order = KeysetOrder("at", descending=descending)
        page = await keyset_page(entries, criteria, order, after=after, limit=size)
        seen += [doc["_id"] for doc in page]
        if len(page) < size:
            return seen
        after = (page[-1]["at"], page[-1]["_id"])


async def test_every_page_walked_gives_the_list_whole_and_in_order(
    entries: AsyncCollection, finds: Finds
) -> None:
    rng = random.Random(158)
    # Few distinct times, so many entries share one and pages end inside a tie.
    times = [START + timedelta(minutes=minute) for minute in range(6)]
    docs = [
        {
            "_id": f"ent_{rng.randrange(10**6):06d}_{n}",
            "company_id": rng.choice(["ours", "theirs"]),
            "at": rng.choice(times),
        }
        for n in range(120)
    ]
    await entries.insert_many(docs)
    for _ in range(24):
        descending = rng.random() < 0.5
        size = rng.randint(1, 9)
        criteria: dict[str, Any] = {"company_id": "ours"}
        window = {}
        if rng.random() < 0.5:
            window["$gte"] = rng.choice(times)
        if rng.random() < 0.5:
            window["$lt"] = rng.choice(times)
        if window:
            criteria["at"] = window
        wanted = sorted(
            (
                doc
                for doc in docs
                if doc["company_id"] == "ours"
                and doc["at"] >= window.get("$gte", START)
                and doc["at"] < window.get("$lt", START + timedelta(days=1))
            ),
            key=lambda doc: (doc["at"], doc["_id"]),
            reverse=descending,
        )
        got = await every_page(entries, criteria, descending=descending, size=size)
        assert got == [doc["_id"] for doc in wanted], (criteria, descending, size)
    assert finds.filters, "no page was read"
    assert finds.with_top_level_operators() == []


async def test_a_page_after_the_last_key_is_empty_and_a_page_may_end_inside_a_tie(
    entries: AsyncCollection,
) -> None:
    await entries.insert_many(
        [{"_id": f"ent_{n}", "company_id": "ours", "at": START} for n in range(5)]
    )

    async def page(after: tuple[datetime, str] | None, limit: int) -> list[str]:
        found = await keyset_page(entries, OURS, NEWEST_FIRST, after=after, limit=limit)
        return [doc["_id"] for doc in found]

    assert await page(None, 2) == ["ent_4", "ent_3"]
    assert await page((START, "ent_3"), 10) == ["ent_2", "ent_1", "ent_0"]
    assert await page((START, "ent_0"), 10) == []
