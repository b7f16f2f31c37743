"""The simulated network's memory (services/catalog/provisioning.MongoAnswers) against the
real MongoDB-protocol server: a bulk batch's hundred changes asked at once cost the
database a command or two, not one each, and each reference keeps its first answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from services.catalog.provisioning import (
    BlockChange,
    MongoAnswers,
    ProvisioningFailed,
    SimulatedProvisioning,
)
from tests.integration.test_kit_grouped_writes import WriteCommands
from tests.support.servers import MongoServer, namespace

pytestmark = pytest.mark.integration

Network = tuple[WriteCommands, AsyncDatabase]


@pytest.fixture
async def network_db(
    mongo_server: MongoServer,
) -> AsyncIterator[tuple[WriteCommands, AsyncDatabase]]:
    listener = WriteCommands()
    client: AsyncMongoClient = AsyncMongoClient(mongo_server.url, event_listeners=[listener])
    db = client[f"{namespace()}_network"]
    await MongoAnswers(db).ensure_indexes()
    listener.sent.clear()
    yield listener, db
    await client.close()


def blocks(count: int) -> list[BlockChange]:
    return [BlockChange(f"7900{n:07d}", "voluntary", set=True) for n in range(count)]


async def test_a_batch_of_changes_asked_at_once_is_recorded_in_few_commands(network_db):
    listener, db = network_db
    network = SimulatedProvisioning(answers=MongoAnswers(db))

    await asyncio.gather(*(network.apply(c, f"prv_{n}") for n, c in enumerate(blocks(100))))

    assert await db["requests"].count_documents({"applied": True}) == 100
    inserts = [carried for name, carried in listener.sent if name == "insert"]
    assert sum(inserts) == 100
    assert len(inserts) <= 2  # the first alone, the rest behind it
    lines = await asyncio.gather(*(network.line(c.msisdn) for c in blocks(100)))
    assert all(line.blocks == {"voluntary": True} for line in lines)


async def test_a_reference_asked_again_keeps_its_first_answer(network_db):
    _, db = network_db
    refusing = SimulatedProvisioning(answers=MongoAnswers(db), failure_rate=1.0)
    confirming = SimulatedProvisioning(answers=MongoAnswers(db))
    [change] = blocks(1)

    with pytest.raises(ProvisioningFailed):
        await refusing.apply(change, "prv_once")
    # Asked again (a worker that died asks again), together with new references: the
    # repeat is refused as the first time, the others applied.
    outcomes = await asyncio.gather(
        confirming.apply(change, "prv_once"),
        *(confirming.apply(c, f"prv_new_{n}") for n, c in enumerate(blocks(5))),
        return_exceptions=True,
    )

    assert isinstance(outcomes[0], ProvisioningFailed)
    assert outcomes[1:] == [None] * 5
    assert await confirming.settle("prv_once") is False
    assert await confirming.settle("prv_never_asked") is False
    assert await confirming.settle("prv_new_0") is True
