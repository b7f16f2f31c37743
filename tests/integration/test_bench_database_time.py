"""The benchmark reads the database's own time by collection (`top`, as mongotop does) off
the real MongoDB-protocol server: what a workload did shows up under its collection."""

from __future__ import annotations

import pytest

from bench.direct import namespace_times, time_per

pytestmark = pytest.mark.integration


async def test_the_time_of_a_collections_writes_is_read_off_top(mongo_server, db):
    collection = db["bench_top_probe"]
    before = await namespace_times(mongo_server.url)
    await collection.insert_many([{"n": n} for n in range(50)])
    for n in range(5):
        await collection.update_one({"n": n}, {"$set": {"seen": True}})
    after = await namespace_times(mongo_server.url)

    rows = {(r["collection"], r["kind"]): r for r in time_per(before, after, units=5)}
    namespace = f"{db.name}.bench_top_probe"
    assert rows[(namespace, "insert")]["operations_per_unit"] == 1 / 5  # one command
    assert rows[(namespace, "update")]["operations_per_unit"] == 1.0
    assert rows[(namespace, "update")]["ms_per_unit"] > 0
