"""services/kit/mongo.py: Transactions.run against the real MongoDB-protocol server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from services.kit import mongo as kit_mongo
from services.kit.mongo import Transactions, connect_mongo, ping
from tests.support.servers import MongoServer, free_port, mongo_url_for_port, namespace

pytestmark = pytest.mark.integration


@pytest.fixture
async def mongo(mongo_server: MongoServer) -> AsyncIterator[AsyncMongoClient]:
    # MongoDB only: no need for `settings` and its broker namespace.
    client = connect_mongo(mongo_server.url, app_name="kit-tests")
    yield client
    await client.close()


@pytest.fixture
def db(mongo: AsyncMongoClient) -> AsyncDatabase:
    return mongo.get_database(f"{namespace()}_kit")


async def test_ping_answers(mongo):
    assert await ping(mongo) is True


async def test_ping_says_false_when_nothing_listens():
    # Not connect_mongo: its 5 s server selection timeout would only slow the test down.
    client = AsyncMongoClient(mongo_url_for_port(free_port()), serverSelectionTimeoutMS=300)
    try:
        started = time.monotonic()
        assert await ping(client) is False
        assert time.monotonic() - started < 5
    finally:
        await client.close()


async def test_a_unit_of_work_commits_both_writes(mongo, db):
    transactions = Transactions(mongo)

    async def work(session):
        await db.accounts.insert_one({"_id": "a", "balance": 100}, session=session)
        await db.ledger.insert_one({"_id": "e1", "account": "a"}, session=session)
        return "done"

    assert await transactions.run(work) == "done"

    assert await db.accounts.find_one({"_id": "a"}) == {"_id": "a", "balance": 100}
    assert await db.ledger.count_documents({}) == 1


async def test_a_unit_of_work_that_raises_writes_nothing_and_is_not_retried(mongo, db):
    transactions = Transactions(mongo)
    calls = 0

    async def work(session):
        nonlocal calls
        calls += 1
        await db.accounts.insert_one({"_id": "a", "balance": 100}, session=session)
        await db.ledger.insert_one({"_id": "e1", "account": "a"}, session=session)
        # Inside the transaction both writes are visible ...
        assert await db.accounts.count_documents({}, session=session) == 1
        raise RuntimeError("a rule said no after both writes")

    with pytest.raises(RuntimeError, match="rule said no"):
        await transactions.run(work)

    assert calls == 1
    assert await db.accounts.count_documents({}) == 0
    assert await db.ledger.count_documents({}) == 0


async def test_a_database_error_in_the_second_write_undoes_the_first(mongo, db):
    await db.ledger.insert_one({"_id": "e1"})
    transactions = Transactions(mongo)
    calls = 0

    async def work(session):
        nonlocal calls
        calls += 1
        await db.accounts.update_one(
            {"_id": "a"}, {"$inc": {"balance": 50}}, upsert=True, session=session
        )
        await db.ledger.insert_one({"_id": "e1"}, session=session)  # duplicate key

    with pytest.raises(DuplicateKeyError):
        await transactions.run(work)

    assert calls == 1  # not a transient error: no retry
    assert await db.accounts.count_documents({}) == 0


async def test_outside_the_transaction_nothing_is_seen_before_the_commit(mongo, db):
    transactions = Transactions(mongo)
    seen_from_outside = []

    async def work(session):
        await db.accounts.insert_one({"_id": "a"}, session=session)
        seen_from_outside.append(await db.accounts.count_documents({}))

    await transactions.run(work)

    assert seen_from_outside == [0]
    assert await db.accounts.count_documents({}) == 1


async def increment(db, session, delay: float) -> None:
    doc = await db.counters.find_one({"_id": "c"}, session=session)
    await asyncio.sleep(delay)
    await db.counters.update_one({"_id": "c"}, {"$set": {"n": doc["n"] + 1}}, session=session)


async def test_concurrent_conflicting_transactions_are_retried_until_all_apply(mongo, db):
    await db.counters.insert_one({"_id": "c", "n": 0})
    transactions = Transactions(mongo)
    attempts = 0

    async def work(session):
        nonlocal attempts
        attempts += 1
        await increment(db, session, delay=0.01)

    await asyncio.gather(*(transactions.run(work) for _ in range(8)))

    assert (await db.counters.find_one({"_id": "c"}))["n"] == 8
    assert attempts > 8, "the tasks overlapped, so some must have hit a write conflict"


async def test_a_transaction_that_had_to_run_again_for_long_is_told_in_the_log(
    mongo, db, monkeypatch, caplog
):
    monkeypatch.setattr(kit_mongo, "RETRIES_WORTH_TELLING_SECONDS", 0.0)
    await db.counters.insert_one({"_id": "c", "n": 0})
    transactions = Transactions(mongo)

    async def work(session):
        await increment(db, session, delay=0.01)

    with caplog.at_level(logging.WARNING, logger="services.kit.mongo"):
        await asyncio.gather(*(transactions.run(work) for _ in range(8)))

    told = [r for r in caplog.records if r.getMessage() == "transaction ran again"]
    assert told, "some of the overlapping transactions met a write conflict"
    assert all(r.attempts > 1 and r.seconds >= 0 for r in told)
    assert all(e.startswith("OperationFailure:") for r in told for e in r.errors)


async def test_without_a_transaction_the_same_increments_lose_updates(db):
    """The control for the test above: its concurrency really does make updates collide."""
    await db.counters.insert_one({"_id": "c", "n": 0})

    await asyncio.gather(*(increment(db, None, delay=0.01) for _ in range(8)))

    assert (await db.counters.find_one({"_id": "c"}))["n"] < 8


async def test_a_conflict_that_never_clears_gives_up_at_the_deadline(mongo, db):
    await db.counters.insert_one({"_id": "c", "n": 0})
    blocker = mongo.start_session()
    await blocker.start_transaction()
    await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 100}}, session=blocker)
    transactions = Transactions(mongo, deadline_seconds=0.5)
    attempts = 0

    async def work(session):
        nonlocal attempts
        attempts += 1
        await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}, session=session)

    started = time.monotonic()
    try:
        with pytest.raises(OperationFailure) as raised:
            await transactions.run(work)
    finally:
        await blocker.abort_transaction()
        await blocker.end_session()

    assert raised.value.code == 112 or raised.value.has_error_label("TransientTransactionError")
    assert attempts > 1
    assert 0.5 <= time.monotonic() - started < 5
    assert (await db.counters.find_one({"_id": "c"}))["n"] == 0


async def test_a_patient_run_outwaits_a_conflict_longer_than_the_deadline(mongo, db):
    """A consumer's batch waits for the transaction it conflicts with to commit, though that
    takes longer than a call's deadline."""
    await db.counters.insert_one({"_id": "c", "n": 0})
    blocker = mongo.start_session()
    await blocker.start_transaction()
    await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 100}}, session=blocker)
    transactions = Transactions(mongo, deadline_seconds=0.2)

    async def work(session):
        await db.counters.update_one({"_id": "c"}, {"$inc": {"n": 1}}, session=session)

    async def commit_later() -> None:
        await asyncio.sleep(1.0)  # the other transaction's own work, longer than the deadline
        await blocker.commit_transaction()

    try:
        await asyncio.gather(transactions.run(work, patience=30), commit_later())
    finally:
        await blocker.end_session()

    assert (await db.counters.find_one({"_id": "c"}))["n"] == 101


async def test_after_commit_hooks_run_only_after_a_commit(mongo, db):
    transactions = Transactions(mongo)
    woken = []
    transactions.after_commit(lambda: woken.append("relay"))

    async def fails(session):
        await db.accounts.insert_one({"_id": "a"}, session=session)
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        await transactions.run(fails)
    assert woken == []

    async def succeeds(session):
        await db.accounts.insert_one({"_id": "a"}, session=session)

    await transactions.run(succeeds)
    assert woken == ["relay"]
