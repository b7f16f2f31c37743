"""services/kit/named_leases.py against the real MongoDB-protocol server: a name is held by
one holder at a time, renewed by it, taken over once its lease has run out, and free at
once when let go."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.named_leases import NamedLeases

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


async def test_a_name_is_held_by_one_holder_until_its_lease_runs_out(db: AsyncDatabase):
    leases = NamedLeases(db["leases"])

    assert await leases.hold("ep_1", "one", T0, T0 + MINUTE)  # never held: taken
    assert not await leases.hold("ep_1", "two", T0 + MINUTE / 2, T0 + 2 * MINUTE)
    assert await leases.hold("ep_1", "one", T0 + MINUTE / 2, T0 + 2 * MINUTE)  # renewed
    assert await leases.held("ep_1", T0 + MINUTE)
    assert not await leases.hold("ep_1", "two", T0 + MINUTE, T0 + 2 * MINUTE)
    # The renewal counts: at the first lease's end the name is still "one"'s.
    assert await leases.hold("ep_1", "two", T0 + 2 * MINUTE, T0 + 3 * MINUTE)
    assert not await leases.hold("ep_1", "one", T0 + 2 * MINUTE, T0 + 3 * MINUTE)
    assert not await leases.held("ep_2", T0)
    assert await db["leases"].count_documents({}) == 1


async def test_a_name_let_go_is_free_at_once_but_only_its_holder_lets_it_go(db: AsyncDatabase):
    leases = NamedLeases(db["leases"])
    for name in ("ep_1", "ep_2"):
        assert await leases.hold(name, "one", T0, T0 + MINUTE)

    await leases.release(["ep_1", "ep_2"], "two")  # not "two"'s to let go
    assert await leases.held("ep_1", T0) and await leases.held("ep_2", T0)
    await leases.release(["ep_1"], "one")

    assert not await leases.held("ep_1", T0)
    assert await leases.hold("ep_1", "two", T0, T0 + MINUTE)
    assert not await leases.hold("ep_2", "two", T0, T0 + MINUTE)


async def test_of_many_asking_for_a_free_name_at_once_one_holds_it(db: AsyncDatabase):
    leases = NamedLeases(db["leases"])

    won = await asyncio.gather(
        *(leases.hold("ep_1", f"worker-{n}", T0, T0 + MINUTE) for n in range(8))
    )

    assert won.count(True) == 1
