"""services/kit/grouped_writes.py against the real MongoDB-protocol server: writes made at
about the same time go out as one command, and each caller hears of its own write."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient, InsertOne, UpdateOne, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from services.kit.grouped_writes import GroupedWrites
from tests.support.servers import MongoServer, namespace

pytestmark = pytest.mark.integration


class WriteCommands(monitoring.CommandListener):
    """The write commands the client sent, by name, with how many documents each carried."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        if name in ("insert", "update", "delete"):
            carried = {"insert": "documents", "update": "updates", "delete": "deletes"}[name]
            self.sent.append((name, len(event.command[carried])))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


Watched = tuple[WriteCommands, AsyncCollection]


@pytest.fixture
async def commands(mongo_server: MongoServer) -> AsyncIterator[Watched]:
    listener = WriteCommands()
    client: AsyncMongoClient = AsyncMongoClient(mongo_server.url, event_listeners=[listener])
    collection = client[f"{namespace()}_kit"]["deliveries"]
    await collection.insert_many([{"_id": n, "attempts": 0} for n in range(40)])
    listener.sent.clear()
    yield listener, collection
    await client.close()


async def test_writes_made_together_go_out_in_one_command(commands):
    listener, collection = commands
    grouped = GroupedWrites(collection)

    await asyncio.gather(
        *(grouped.write(UpdateOne({"_id": n}, {"$inc": {"attempts": 1}})) for n in range(40))
    )

    assert listener.sent == [("update", 40)]
    assert await collection.count_documents({"attempts": 1}) == 40


async def test_writes_arriving_during_a_write_go_out_together_in_the_next(commands):
    listener, collection = commands
    grouped = GroupedWrites(collection)

    async def later(n: int) -> None:
        await asyncio.sleep(0)  # after the first group has gone out
        await grouped.write(UpdateOne({"_id": n}, {"$inc": {"attempts": 1}}))

    first = asyncio.ensure_future(grouped.write(UpdateOne({"_id": 0}, {"$inc": {"attempts": 1}})))
    await asyncio.sleep(0)
    await asyncio.gather(first, *(later(n) for n in range(1, 30)))

    assert [size for _, size in listener.sent] == [1, 29]
    assert await collection.count_documents({"attempts": 1}) == 30


async def test_a_lone_write_goes_out_at_once_and_a_backlog_in_groups_of_the_most(commands):
    listener, collection = commands
    grouped = GroupedWrites(collection, most=16)

    await grouped.write(UpdateOne({"_id": 0}, {"$inc": {"attempts": 1}}))
    await asyncio.gather(
        *(grouped.write(UpdateOne({"_id": n}, {"$inc": {"attempts": 1}})) for n in range(40))
    )

    assert [size for _, size in listener.sent] == [1, 16, 16, 8]
    assert await collection.count_documents({"attempts": 1}) == 39
    assert await collection.count_documents({"attempts": 2}) == 1


async def test_a_refused_write_fails_its_own_caller_and_the_rest_are_written(commands):
    _, collection = commands
    grouped = GroupedWrites(collection)

    outcomes = await asyncio.gather(
        grouped.write(InsertOne({"_id": 100})),
        grouped.write(InsertOne({"_id": 7})),  # there already
        grouped.write(UpdateOne({"_id": 8}, {"$inc": {"attempts": 1}})),
        return_exceptions=True,
    )

    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], DuplicateKeyError)
    assert await collection.find_one({"_id": 100}) == {"_id": 100}
    assert (await collection.find_one({"_id": 8}))["attempts"] == 1


async def test_a_caller_cancelled_while_waiting_leaves_the_group_written(commands):
    _, collection = commands
    grouped = GroupedWrites(collection)
    gone = asyncio.ensure_future(grouped.write(UpdateOne({"_id": 1}, {"$inc": {"attempts": 1}})))
    kept = asyncio.ensure_future(grouped.write(UpdateOne({"_id": 2}, {"$inc": {"attempts": 1}})))
    await asyncio.sleep(0)

    gone.cancel()
    await kept

    assert gone.cancelled()
    assert await collection.count_documents({"attempts": 1}) == 2


async def test_a_database_that_is_away_fails_every_caller_of_the_group(mongo_server):
    client: AsyncMongoClient = AsyncMongoClient(
        "mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=200"
    )
    grouped = GroupedWrites(client["kit"]["deliveries"])
    try:
        outcomes = await asyncio.gather(
            *(grouped.write(UpdateOne({"_id": n}, {"$set": {"a": 1}})) for n in range(3)),
            return_exceptions=True,
        )
    finally:
        await client.close()

    assert all(isinstance(outcome, Exception) for outcome in outcomes)
