"""The login-throttling counters against the real MongoDB-protocol server: concurrent
attempts, as several identity replicas would make them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.identity.domain import throttling
from services.identity.store.throttling import ThrottleStore
from services.kit.mongo import connect_mongo
from tests.support.servers import MongoServer, namespace

pytestmark = pytest.mark.integration

KEY = throttling.login_key("ivanov")


@pytest.fixture
async def db(mongo_server: MongoServer) -> AsyncIterator[AsyncDatabase]:
    client: AsyncMongoClient = connect_mongo(mongo_server.url, app_name="throttle-tests")
    yield client.get_database(f"{namespace()}_identity")
    await client.close()


@pytest.fixture
async def store(db) -> ThrottleStore:
    throttle = ThrottleStore(db)
    await throttle.ensure_indexes()
    return throttle


def now() -> datetime:
    return datetime.now(UTC)


async def test_of_simultaneous_attempts_seeing_the_same_count_exactly_one_is_counted(store):
    moment = now()
    first = await asyncio.gather(
        *(store.claim_attempt(KEY, None, moment, moment + timedelta(minutes=15)) for _ in range(8))
    )
    assert sum(1 for claimed in first if claimed) == 1

    counters, _ = await store.load(KEY)
    seen = counters[KEY]
    again = await asyncio.gather(
        *(store.claim_attempt(KEY, seen, moment, moment + timedelta(minutes=15)) for _ in range(8))
    )
    assert [c.count for c in again if c] == [2]


async def test_parallel_failures_are_all_counted(store):
    moment = now()
    key = throttling.address_key("198.18.0.1")
    await asyncio.gather(
        *(
            store.add_failure(
                key, moment, window_ends_at=moment + timedelta(minutes=15), sliding=False
            )
            for _ in range(25)
        )
    )
    counters, _ = await store.load(key)
    assert counters[key].count == 25


async def test_an_expired_counter_starts_anew(store):
    long_ago = now() - timedelta(hours=1)
    stale = await store.claim_attempt(KEY, None, long_ago, long_ago + timedelta(minutes=15))
    assert stale is not None and stale.count == 1

    moment = now()
    fresh = await store.claim_attempt(KEY, stale, moment, moment + timedelta(minutes=15))
    assert fresh is not None and fresh.count == 1 and fresh.first_at > long_ago

    key = throttling.address_key("198.18.0.2")
    await store.add_failure(
        key, long_ago, window_ends_at=long_ago + timedelta(minutes=15), sliding=False
    )
    counted = await store.add_failure(
        key, moment, window_ends_at=moment + timedelta(minutes=15), sliding=False
    )
    assert counted.count == 1


async def test_a_fixed_window_keeps_the_first_failures_expiry_and_a_lock_extends_it(store):
    key = throttling.address_key("198.18.0.3")
    start = now()
    await store.add_failure(key, start, window_ends_at=start + timedelta(minutes=15), sliding=False)
    later = start + timedelta(minutes=5)
    counted = await store.add_failure(
        key, later, window_ends_at=later + timedelta(minutes=15), sliding=False
    )
    assert abs(counted.expires_at - (start + timedelta(minutes=15))) < timedelta(seconds=1)

    await store.keep_until(key, later + timedelta(minutes=15))
    counters, _ = await store.load(key)
    assert counters[key].expires_at > counted.expires_at


async def test_a_known_address_mark_is_told_apart_from_counters_and_forgetting_removes(store):
    moment = now()
    mark = throttling.known_address_key("ivanov", "198.18.0.4")
    await store.mark(mark, moment + timedelta(days=30))
    await store.claim_attempt(KEY, None, moment, moment + timedelta(minutes=15))

    counters, marks = await store.load(KEY, mark, throttling.login_key("nobody"))
    assert set(counters) == {KEY} and marks == {mark}

    await store.forget(KEY)
    counters, marks = await store.load(KEY, mark)
    assert counters == {} and marks == {mark}
