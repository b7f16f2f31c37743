"""deploy/embedded_mongo.py: the embedded server aborts an abandoned transaction by itself,
as mongod does, so a process killed mid-transaction does not hold its documents for good."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest
from pymongo.errors import OperationFailure

from services.kit.mongo import connect_mongo
from tests.support.servers import MongoServer, namespace, start_mongo

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        bool(os.environ.get("VM_TEST_MONGO_URL")), reason="a real MongoDB reaps on its own"
    ),
]

LIFETIME_SECONDS = 2.0


@pytest.fixture(scope="module")
def short_lived() -> Iterator[MongoServer]:
    server = start_mongo(transaction_lifetime=LIFETIME_SECONDS)
    yield server
    server.stop()


async def test_a_transaction_nobody_finishes_is_aborted_and_its_document_freed(short_lived):
    abandoning = connect_mongo(short_lived.url, app_name="abandoning")
    other = connect_mongo(short_lived.url, app_name="other")
    operations = abandoning[f"{namespace()}_ops"]["operations"]
    await operations.insert_one({"_id": "op1", "holder": None})
    try:
        # A worker's transaction takes the operation, then its process is gone: no commit,
        # no abort, no further statement on it — only writes outside transactions follow.
        session = abandoning.start_session()
        await session.start_transaction()
        await operations.update_one({"_id": "op1"}, {"$set": {"holder": "dead"}}, session=session)

        theirs = other[operations.database.name]["operations"]
        started = time.monotonic()
        while True:
            # The server makes the write wait a while, then gives up with a write conflict.
            try:
                await theirs.update_one({"_id": "op1"}, {"$set": {"holder": "new"}})
                break
            except OperationFailure as conflict:
                assert conflict.code == 112, conflict  # WriteConflict while it is held
            assert time.monotonic() - started < 30, "the abandoned transaction is never aborted"
            await asyncio.sleep(0.2)

        # Held until the transaction's lifetime ran out, as mongod would hold it.
        assert time.monotonic() - started >= LIFETIME_SECONDS / 2
        assert await theirs.find_one({"_id": "op1"}) == {"_id": "op1", "holder": "new"}
    finally:
        await abandoning.close()
        await other.close()
