"""services/kit/replays.py against the real MongoDB-protocol server: a creating call with an
Idempotency-Key runs once per caller, method and key; a repeat gets the first response."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from services.kit.context import Caller, caller_var
from services.kit.errors import IdempotencyKeyReused, InvalidArgument, NotAllowed
from services.kit.replays import IdempotencyKeyInUse, ReplayJournal

pytestmark = pytest.mark.integration

METHOD = "/vm.tickets.v1.TicketService/CreateTicket"
ANNA = Caller(kind="user", company_id="c1", user_id="anna")


class CountingCall:
    """A creating call that answers its run's number, so a repeat that ran is seen."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self) -> bytes:
        self.runs += 1
        return f"ticket-{self.runs}".encode()


@pytest.fixture
async def journal(db: AsyncDatabase) -> ReplayJournal:
    caller_var.set(ANNA)
    opened = ReplayJournal(db)
    await opened.ensure_indexes()
    return opened


async def test_a_repeat_gets_the_first_response_and_runs_nothing(journal: ReplayJournal) -> None:
    call = CountingCall()
    first = await journal.run_once(METHOD, "key-1", b"request", call)
    again = await journal.run_once(METHOD, "key-1", b"request", call)
    assert (first, again, call.runs) == (b"ticket-1", b"ticket-1", 1)
    other_key = await journal.run_once(METHOD, "key-2", b"request", call)
    assert (other_key, call.runs) == (b"ticket-2", 2)


async def test_another_request_under_the_same_key_is_refused(journal: ReplayJournal) -> None:
    call = CountingCall()
    await journal.run_once(METHOD, "key-1", b"request", call)
    with pytest.raises(IdempotencyKeyReused):
        await journal.run_once(METHOD, "key-1", b"another request", call)
    assert call.runs == 1


async def test_keys_are_the_callers_own(journal: ReplayJournal) -> None:
    call = CountingCall()
    await journal.run_once(METHOD, "key-1", b"request", call)
    for someone_else in (
        Caller(kind="user", company_id="c1", user_id="boris"),
        Caller(kind="user", company_id="c2", user_id="anna"),
        Caller(kind="api_key", company_id="c1", user_id="anna"),
    ):
        caller_var.set(someone_else)
        await journal.run_once(METHOD, "key-1", b"request", call)
    caller_var.set(ANNA)
    await journal.run_once("/vm.identity.v1.RoleService/CreateRole", "key-1", b"request", call)
    assert call.runs == 5


async def test_a_failed_call_releases_its_key(journal: ReplayJournal) -> None:
    async def refused() -> bytes:
        raise NotAllowed("no")

    with pytest.raises(NotAllowed):
        await journal.run_once(METHOD, "key-1", b"request", refused)
    call = CountingCall()
    # the corrected request may use the key
    assert await journal.run_once(METHOD, "key-1", b"corrected", call) == b"ticket-1"


async def test_a_repeat_while_the_first_runs_is_refused_not_run(journal: ReplayJournal) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> bytes:
        started.set()
        await release.wait()
        return b"slow"

    first = asyncio.create_task(journal.run_once(METHOD, "key-1", b"request", slow))
    await started.wait()
    call = CountingCall()
    with pytest.raises(IdempotencyKeyInUse):
        await journal.run_once(METHOD, "key-1", b"request", call)
    release.set()
    assert await first == b"slow"
    assert await journal.run_once(METHOD, "key-1", b"request", call) == b"slow"
    assert call.runs == 0


async def test_a_reservation_left_by_a_dead_process_is_taken_over_after_its_lease(
    journal: ReplayJournal, db: AsyncDatabase
) -> None:
    started = asyncio.Event()

    async def dies() -> bytes:
        started.set()
        await asyncio.Event().wait()
        return b"never"

    dead = asyncio.create_task(journal.run_once(METHOD, "key-1", b"request", dies))
    await started.wait()
    # the process dies here: its reservation stays, as a crash would leave it
    record = await db["replayed_calls"].find_one({"state": "running"})
    assert record is not None
    expired = datetime.now(UTC) - timedelta(seconds=1)
    await db["replayed_calls"].update_one(
        {"_id": record["_id"]}, {"$set": {"lease_until": expired}}
    )
    call = CountingCall()
    assert await journal.run_once(METHOD, "key-1", b"request", call) == b"ticket-1"
    dead.cancel()
    # the dead call's late release must not remove the new holder's response
    with pytest.raises(asyncio.CancelledError):
        await dead
    assert await journal.run_once(METHOD, "key-1", b"request", call) == b"ticket-1"
    assert call.runs == 1


async def test_the_journal_keeps_no_response_or_key_in_clear(
    journal: ReplayJournal, db: AsyncDatabase
) -> None:
    async def creates_an_api_key() -> bytes:
        return b"secret: vm_live_0123456789abcdef"

    await journal.run_once(METHOD, "my-retry-key-7", b"request", creates_an_api_key)
    record = await db["replayed_calls"].find_one({})
    assert record is not None
    stored = repr(record).encode()
    assert b"vm_live_0123456789abcdef" not in stored
    assert b"my-retry-key-7" not in stored
    assert record["expires_at"] > datetime.now(UTC) + timedelta(hours=23)


@pytest.mark.parametrize("key", ["", " ", "x" * 201, "bad\nkey"])
async def test_a_key_that_is_not_valid_is_refused(journal: ReplayJournal, key: str) -> None:
    with pytest.raises(InvalidArgument):
        await journal.run_once(METHOD, key, b"request", CountingCall())
