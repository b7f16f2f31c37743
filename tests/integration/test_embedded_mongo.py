"""deploy/embedded_mongo.py: the embedded server aborts an abandoned transaction by itself,
as mongod does, so a process killed mid-transaction does not hold its documents for good;
a client that stops reading a reply holds no snapshot that every write would have to keep
history for; and the kit's client never sends a command on a connection the server has hung
up on."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager

import bson
import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure
from pymongo.uri_parser import parse_uri
from secantus.server import DEFAULT_CLIENT_IDLE_TIMEOUT_S
from wiredtiger import stat

from deploy.embedded_mongo import ReapingServer
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
    ((host, port),) = parse_uri(url)["nodelist"]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        assert await asyncio.wait_for(reader.read(), timeout=30) == b""
    finally:
        writer.close()


STALLED_REPLY_DOCUMENTS = 5_000  # 10 MB: far more than the sockets' buffers hold
WRITES_MEANWHILE = 1_000


def test_a_client_that_stops_reading_a_reply_pins_no_snapshot():
    # The server runs here, so that WiredTiger's count of the transaction ids it must keep
    # history for (the range pinned by the oldest snapshot) can be read.
    server = ReapingServer(host="127.0.0.1", port=0, storage_path=":memory:")
    server.start()
    try:
        server.storage._conn.reconfigure("statistics=(fast)")
        port = server.address[1]
        with MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true") as client:
            pad = "x" * 2_000
            client.t.big.insert_many(
                [{"_id": n, "pad": pad} for n in range(STALLED_REPLY_DOCUMENTS)]
            )
            with _stalled_reader(port, {"find": "big", "batchSize": 100_000, "$db": "t"}):
                for n in range(WRITES_MEANWHILE):
                    client.t.hot.update_one({"_id": n % 10}, {"$inc": {"v": 1}}, upsert=True)

                # SecantusDB alone held the snapshot while it sent: every one of the
                # writes stayed pinned (1,003 of 1,000 measured; 28–58 here).
                assert _pinned_transaction_ids(server) < WRITES_MEANWHILE / 2
    finally:
        server.stop()


@contextmanager
def _stalled_reader(port: int, command: dict) -> Iterator[None]:
    """A client that sends a command and reads no more than the reply's first byte."""
    with socket.socket() as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", port))
        body = struct.pack("<I", 0) + b"\x00" + bson.encode(command)
        stalled.sendall(struct.pack("<iiii", 16 + len(body), 1, 0, 2013) + body)
        # The reply's first bytes are here: the server has built it and is sending it.
        assert stalled.recv(1, socket.MSG_PEEK)
        yield


def _pinned_transaction_ids(server: ReapingServer) -> int:
    session = server.storage._conn.open_session()
    try:
        cursor = session.open_cursor("statistics:", None, None)
        return int(cursor[stat.conn.txn_pinned_range][2])
    finally:
        session.close()
