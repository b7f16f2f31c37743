"""deploy/embedded_mongo.py: the embedded server aborts an abandoned transaction by itself,
as mongod does, so a process killed mid-transaction does not hold its documents for good;
and the kit's client never sends a command on a connection the server has hung up on."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import pytest
from pymongo.errors import OperationFailure
from secantus.server import DEFAULT_CLIENT_IDLE_TIMEOUT_S

from services.kit.mongo import MAX_IDLE_SECONDS, connect_mongo
from tests.support.servers import MongoServer, namespace, start_mongo

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        bool(os.environ.get("VM_TEST_MONGO_URL")), reason="a real MongoDB reaps on its own"
    ),
]

LIFETIME_SECONDS = 2.0
IDLE_SECONDS = 1.0


@pytest.fixture(scope="module")
def short_lived() -> Iterator[MongoServer]:
    server = start_mongo(transaction_lifetime=LIFETIME_SECONDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hanging_up() -> Iterator[MongoServer]:
    server = start_mongo(client_idle_timeout=IDLE_SECONDS)
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


def test_the_clients_give_up_an_idle_connection_before_the_server_does():
    assert MAX_IDLE_SECONDS < DEFAULT_CLIENT_IDLE_TIMEOUT_S / 2


async def test_writes_after_the_server_hung_up_on_idle_connections_go_through(hanging_up):
    # The server closes a connection idle for IDLE_SECONDS. The async driver does not read
    # a pooled connection, so it does not see the hang-up: a client that kept its
    # connections longer sent the next command on a dead one ("connection closed").
    client = connect_mongo(hanging_up.url, app_name="idle", max_idle_seconds=IDLE_SECONDS / 2)
    documents = client[f"{namespace()}_idle"]["documents"]
    try:
        await asyncio.gather(*(documents.insert_one({"n": n}) for n in range(8)))
        await _until_the_server_hangs_up_on_a_connection_opened_now(hanging_up.url)

        await asyncio.gather(*(documents.insert_one({"n": n}) for n in range(8, 16)))

        assert await documents.count_documents({}) == 16
    finally:
        await client.close()


async def _until_the_server_hangs_up_on_a_connection_opened_now(url: str) -> None:
    """Every pooled connection has been idle longer than this one: once the server hangs
    up on it, it has hung up on them."""
    port = int(url.split("://127.0.0.1:")[1].split("/")[0])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        assert await asyncio.wait_for(reader.read(), timeout=30) == b""
    finally:
        writer.close()
