"""Identity's stores for password resets, password hashes and preferences, against the real
MongoDB-protocol server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.identity import domain
from services.identity.domain import PasswordReset, Preferences, User
from services.identity.store import Stores
from services.kit.mongo import Transactions, connect_mongo
from tests.support.servers import MongoServer, namespace

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
async def mongo(mongo_server: MongoServer) -> AsyncIterator[AsyncMongoClient]:
    client = connect_mongo(mongo_server.url, app_name="identity-tests")
    yield client
    await client.close()


@pytest.fixture
async def stores(mongo: AsyncMongoClient) -> Stores:
    db: AsyncDatabase = mongo.get_database(f"{namespace()}_identity")
    created = Stores.create(db)
    await created.password_resets.ensure_indexes()
    return created


def a_reset(reset_id: str, user_id: str = "usr_1", created_at: datetime = NOW) -> PasswordReset:
    return PasswordReset(
        id=reset_id,
        company_id="cmp_1",
        user_id=user_id,
        channel="sms",
        code_digest=domain.reset_code_digest(reset_id, "123456"),
        created_at=created_at,
        expires_at=created_at + domain.RESET_CODE_TTL,
    )


async def test_of_two_parallel_guesses_only_one_counts(stores):
    resets = stores.password_resets
    before = a_reset("pwr_1")
    await resets.insert(before)
    guesses = [before.try_code("000000"), before.try_code("111111")]

    counted = await asyncio.gather(*(resets.record_attempt(before, g) for g in guesses))

    assert sorted(counted) == [False, True]
    assert (await resets.get("pwr_1")).attempts == 1


async def test_a_completed_reset_takes_no_more_attempts(stores):
    resets = stores.password_resets
    before = a_reset("pwr_1")
    await resets.insert(before)
    done = before.try_code("123456")
    assert await resets.record_attempt(before, done)

    assert not await resets.record_attempt(done, done.try_code("123456"))


async def test_a_successful_reset_closes_the_users_other_resets_only(mongo, stores):
    resets = stores.password_resets
    for reset in (a_reset("pwr_1"), a_reset("pwr_2"), a_reset("pwr_3", user_id="usr_2")):
        await resets.insert(reset)

    async def close(tx):
        await resets.close_others("cmp_1", "usr_1", "pwr_1", tx)

    await Transactions(mongo).run(close)

    assert not (await resets.get("pwr_1")).completed
    assert (await resets.get("pwr_2")).completed
    assert not (await resets.get("pwr_3")).completed


async def test_recent_resets_are_counted_per_company_and_user(stores):
    resets = stores.password_resets
    await resets.insert(a_reset("pwr_old", created_at=NOW - timedelta(hours=2)))
    await resets.insert(a_reset("pwr_1"))
    await resets.insert(a_reset("pwr_2"))
    await resets.insert(a_reset("pwr_other", user_id="usr_2"))

    since = NOW - domain.RESET_WINDOW
    assert await resets.count_since("cmp_1", "usr_1", since) == 2
    assert await resets.count_since("cmp_2", "usr_1", since) == 0


async def test_setting_a_password_hash_keeps_the_rest_and_needs_the_company(mongo, stores):
    user = User(
        id="usr_1",
        company_id="cmp_1",
        login="ivanova.a",
        full_name="Иванова Анна",
        email="ivanova@romashka.example",
        password_hash="old",
        created_at=NOW,
        assignments=(domain.Assignment("viewer"),),
    )
    await stores.users.insert(user)

    async def set_hash(company_id: str):
        async def work(tx):
            return await stores.users.set_password_hash(company_id, user.id, "new", tx)

        return await Transactions(mongo).run(work)

    assert not await set_hash("cmp_2")
    assert await set_hash("cmp_1")
    stored = await stores.users.get("cmp_1", "usr_1")
    assert stored.password_hash == "new"
    assert stored.assignments == user.assignments and stored.full_name == user.full_name


async def test_preferences_are_kept_per_user_and_hidden_from_another_company(stores):
    preferences = stores.preferences
    await preferences.save("cmp_1", "usr_1", Preferences(("reports", "sms"), "en"), NOW)
    await preferences.save("cmp_1", "usr_1", Preferences(("sms", "reports"), "ru"), NOW)

    assert await preferences.get("cmp_1", "usr_1") == Preferences(("sms", "reports"), "ru")
    assert await preferences.get("cmp_2", "usr_1") is None
    assert await preferences.get("cmp_1", "usr_2") is None
