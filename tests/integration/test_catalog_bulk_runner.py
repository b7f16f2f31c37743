"""The bulk worker's use case and its store against the real MongoDB-protocol server: one
worker holds an operation at a time and another takes over when its lease runs out; the
sweep hands out what is due once; a worker that dies in the middle of a batch leaves that
batch pending, and the next one finishes with every number changed exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import BulkWriteError

from services.catalog.domain.bulk import BulkOperation, TargetResult, Targets
from services.catalog.domain.numbers import Scope
from services.catalog.provisioning import Change, SimulatedProvisioning
from services.catalog.service.bulk_runner import BulkRunner, WorkerSettings
from services.catalog.store.intents import IntentStore
from services.catalog.store.numbers import NumberStore
from services.catalog.store.operations import OperationStore
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from tests.integration.test_catalog_number_store import NORTH, ROOT, A, a_number, insert
from tests.support.kit import outbox_events
from tests.support.servers import namespace

pytestmark = pytest.mark.integration

LEASE = timedelta(seconds=30)


@pytest.fixture
async def operations(db) -> OperationStore:
    """The operations' store, the database prepared as the bulk worker prepares it."""
    store = OperationStore(db)
    await store.ensure_indexes()
    await IntentStore(db).ensure_indexes()
    return store


def runner(
    db, transactions, network, *, batch: int = 50, lease: timedelta = LEASE, sms=None
) -> BulkRunner:
    return BulkRunner.on_database(
        db,
        transactions,
        Outbox(db),
        network,
        sms=sms,
        settings=WorkerSettings(batch_size=batch, lease=lease),
    )


async def a_block(
    operations: OperationStore,
    transactions: Transactions,
    msisdns: list[str],
    *,
    scheduled_at: datetime | None = None,
    sms: str = "",
) -> BulkOperation:
    now = datetime.now(UTC) - timedelta(seconds=1)
    op = BulkOperation(
        id=f"op_{namespace()}",
        company_id=A,
        type="sms" if sms else "block",
        params={"text": sms} if sms else {"type": "voluntary"},
        targets=Targets(msisdns=tuple(msisdns)),
        scope_nodes=None,
        created_by="usr_1",
        created_at=now,
        scheduled_at=scheduled_at,
        total=len(msisdns),
    )

    async def write(session) -> None:
        await operations.create(op, "", "", session)

    await transactions.run(write)
    return op


async def test_one_worker_holds_an_operation_until_its_lease_runs_out(operations, transactions):
    op = await a_block(operations, transactions, ["79160000001"])
    now = datetime.now(UTC)
    assert await operations.claim(op.id, "w1", now, timedelta(seconds=1)) is not None
    assert await operations.claim(op.id, "w2", now, LEASE) is None
    assert await operations.claim(op.id, "w1", now, LEASE) is not None  # its own again
    assert await operations.renew(op.id, "w2", now + LEASE) is None
    later = now + timedelta(seconds=31)
    assert await operations.claim(op.id, "w2", later, LEASE) is not None
    assert await operations.renew(op.id, "w1", later + LEASE) is None  # w1 lost it


async def test_the_sweep_hands_out_what_is_due_once(operations, transactions):
    due = await a_block(operations, transactions, ["79160000002"])
    future = await a_block(
        operations,
        transactions,
        ["79160000003"],
        scheduled_at=datetime.now(UTC) + timedelta(hours=1),
    )
    now = datetime.now(UTC)
    # Made to run at once, it is marked as handed to the queue by the call that made it:
    # no sweep hands it over again while a worker is on its way to it.
    assert due.id not in await operations.due(now, LEASE, 100)
    await operations.undispatched(due.id)  # the call could not hand it over
    first = await operations.due(now, LEASE, 100)
    assert due.id in first and future.id not in first
    assert due.id not in await operations.due(now + timedelta(seconds=1), LEASE, 100)
    # Nobody took it within the redispatch time: handed out again.
    assert due.id in await operations.due(now + timedelta(seconds=31), LEASE, 100)
    # Held by a live worker: not handed out.
    await operations.claim(due.id, "w1", now, timedelta(minutes=5))
    assert due.id not in await operations.due(now + timedelta(seconds=62), LEASE, 100)
    assert future.id in await operations.due(now + timedelta(hours=2), LEASE, 100)


async def test_listing_the_numbers_twice_lists_each_once(operations, transactions, db):
    msisdns = [f"7916100{n:04d}" for n in range(1_500)]
    op = await a_block(operations, transactions, msisdns)

    async def listed(numbers: list[str]) -> int:
        return await transactions.run(lambda s: operations.list_targets(op, numbers, s))

    assert await listed(msisdns) == 1_500
    assert await listed(msisdns[:10]) == 1_500  # listed already: the first listing stands
    # A thousand numbers to a document; no document per number until it is decided.
    assert await db["operation_targets"].count_documents({"operation_id": op.id}) == 2
    assert await db["operation_results"].count_documents({"operation_id": op.id}) == 0
    started = replace(op, total=1_500)
    assert await operations.pending(started, 3) == {m: i for i, m in enumerate(msisdns[:3])}
    # After 10 decided: the next window of the request's order.
    after_ten = await operations.pending(replace(started, done=10), 3)
    assert after_ten == {m: 10 + i for i, m in enumerate(msisdns[10:13])}
    # Decided numbers are skipped, in one listed document and across two.
    last_two = {m: 1_498 + i for i, m in enumerate(msisdns[1_498:])}
    decided = [TargetResult(m, "succeeded", "changed") for m in last_two]
    await transactions.run(
        lambda s: operations.decide(started, decided, last_two, datetime.now(UTC), s)
    )
    tail = await operations.pending(replace(started, done=997), 3)
    assert list(tail) == msisdns[997:1_000]
    # A window that finds nothing though the count says so: looked for all over.
    assert await operations.pending(replace(started, done=1_498), 3) == {
        m: i for i, m in enumerate(msisdns[:3])
    }
    # Every number decided, as the count says: nothing is read.
    assert await operations.pending(replace(started, done=1_500), 3) == {}


async def test_a_number_is_decided_once(operations, transactions):
    msisdns = ["79161000001", "79161000002"]
    op = await a_block(operations, transactions, msisdns)
    await transactions.run(lambda s: operations.list_targets(op, msisdns, s))
    places = {msisdns[0]: 0}
    result = [TargetResult(msisdns[0], "succeeded", "changed")]
    await transactions.run(lambda s: operations.decide(op, result, places, datetime.now(UTC), s))
    with pytest.raises(BulkWriteError):  # the same result's _id again
        await transactions.run(
            lambda s: operations.decide(op, result, places, datetime.now(UTC), s)
        )
    ended = await operations.get(A, op.id)
    assert ended is not None and ended.done == 1


async def test_the_results_list_every_target_in_order_pending_ones_too(operations, transactions):
    msisdns = [f"7916200{n:04d}" for n in range(1_005)]
    op = await a_block(operations, transactions, msisdns)
    await transactions.run(lambda s: operations.list_targets(op, msisdns, s))
    failed = {msisdns[1]: 1, msisdns[1_003]: 1_003}
    results = [TargetResult(m, "failed", "NUMBER_BLOCKED") for m in failed]
    await transactions.run(lambda s: operations.decide(op, results, failed, datetime.now(UTC), s))

    first = await operations.results_page(A, op.id, "", None, 3)
    assert [(seq, r.msisdn, r.status) for seq, r in first] == [
        (0, msisdns[0], "pending"),
        (1, msisdns[1], "failed"),
        (2, msisdns[2], "pending"),
    ]
    across = await operations.results_page(A, op.id, "", 997, 4)  # two listed documents
    assert [seq for seq, _ in across] == [998, 999, 1_000, 1_001]
    only_failed = await operations.results_page(A, op.id, "failed", None, 10)
    assert [(seq, r.code) for seq, r in only_failed] == [
        (1, "NUMBER_BLOCKED"),
        (1_003, "NUMBER_BLOCKED"),
    ]
    pending = await operations.results_page(A, op.id, "pending", 999, 3)
    assert [seq for seq, _ in pending] == [1_000, 1_001, 1_002]
    # Another company's caller sees none of it.
    assert await operations.results_page("cmp_other", op.id, "", None, 3) == []

    cancelled = await operations.cancel_pending(replace(op, total=1_005), datetime.now(UTC))
    assert cancelled == 1_003
    assert await operations.results_page(A, op.id, "pending", None, 3) == []
    assert [r.status for _, r in await operations.results_page(A, op.id, "", None, 2)] == [
        "cancelled",
        "failed",
    ]


async def test_the_network_answers_leave_each_result_on_its_intent(db, operations, transactions):
    numbers = [a_number(1500 + n, ROOT) for n in range(12)]
    await insert(NumberStore(db), transactions, numbers)
    msisdns = [n.msisdn for n in numbers]
    missing = "79169999999"  # not the company's: refused before the network is asked
    targets = [*msisdns[:5], missing, *msisdns[5:]]
    refused = {msisdns[2], msisdns[9]}
    op = await a_block(operations, transactions, targets)
    network = SimulatedProvisioning(fail_msisdns=sorted(refused))
    await runner(db, transactions, network, batch=5).run(op.id)

    ended = await operations.get(A, op.id)
    assert ended is not None and (ended.done, ended.failed) == (13, 3)
    # One document for each answer: the intent, finished with its result; a result of
    # its own only for the number decided without the network.
    here = await db["operation_results"].find({"operation_id": op.id}).to_list(None)
    assert [doc["msisdn"] for doc in here] == [missing]
    carried = await db["provisioning_intents"].find({"operation_id": op.id}).to_list(None)
    assert sorted(doc["msisdn"] for doc in carried) == sorted(msisdns)
    assert {doc["state"] for doc in carried if doc["msisdn"] in refused} == {"refused"}

    every = await operations.results_page(A, op.id, "", None, 20)
    assert [(seq, r.msisdn) for seq, r in every] == list(enumerate(targets))
    statuses = {r.msisdn: (r.status, r.code) for _, r in every}
    assert statuses[missing] == ("failed", "not_found")
    assert {statuses[m][0] for m in refused} == {"failed"}
    assert statuses[msisdns[0]] == ("succeeded", "changed")
    details = {r.msisdn: r.detail for _, r in every}
    assert details[msisdns[0]] == "блокировка voluntary установлена"  # the change's own
    assert details[msisdns[2]] and details[msisdns[2]] != details[msisdns[0]]  # the refusal's
    # A status's pages merge both, in the request's order, page after page.
    failed = await operations.results_page(A, op.id, "failed", None, 2)
    assert [seq for seq, _ in failed] == [2, 5]
    rest = await operations.results_page(A, op.id, "failed", 5, 2)
    assert [(seq, r.msisdn) for seq, r in rest] == [(10, msisdns[9])]
    succeeded = await operations.results_page(A, op.id, "succeeded", 3, 3)
    assert [seq for seq, _ in succeeded] == [4, 6, 7]
    # Another company's caller sees none of it.
    assert await operations.results_page("cmp_other", op.id, "failed", None, 5) == []
    assert await operations.pending(ended, 20) == {}


class WorkerDied(BaseException):
    """The worker's process is gone (nothing of it catches this)."""


class DiesOnce:
    """The network as a worker sees it just before it dies: the `at`-th change never
    returns (the worker's process is gone), later changes are fine."""

    def __init__(self, at: int, fail: list[str]) -> None:
        self._calls = 0
        self._at = at
        self._network = SimulatedProvisioning(fail_msisdns=fail)

    async def apply(self, change: Change, reference: str) -> None:
        self._calls += 1
        if self._calls == self._at:
            raise WorkerDied("the worker died")
        await self._network.apply(change, reference)

    async def settle(self, reference: str) -> bool:
        return await self._network.settle(reference)


async def test_a_worker_dying_mid_batch_leaves_it_pending_and_each_number_changes_once(
    db, operations, transactions
):
    numbers = [a_number(2000 + n, NORTH if n % 2 else ROOT) for n in range(120)]
    await insert(NumberStore(db), transactions, numbers)
    msisdns = [n.msisdn for n in numbers]
    refused = msisdns[77]
    op = await a_block(operations, transactions, msisdns)

    dying = runner(db, transactions, DiesOnce(at=70, fail=[refused]), batch=50)
    with pytest.raises(WorkerDied):
        await dying.run(op.id)
    halfway = await operations.get(A, op.id)
    assert halfway is not None and halfway.done == 50  # the second batch rolled back
    assert len(await operations.pending(halfway, 1_000)) == 70

    # Its claim was let go: the next worker takes over at once.
    await runner(db, transactions, SimulatedProvisioning(fail_msisdns=[refused])).run(op.id)
    ended = await operations.get(A, op.id)
    assert ended is not None
    assert (ended.status, ended.done, ended.failed) == ("partially_failed", 120, 1)
    store = NumberStore(db)
    statuses = {n.msisdn: n.status for n in await store.get_many(Scope(A), msisdns)}
    assert statuses[refused] == "active"
    assert {s for m, s in statuses.items() if m != refused} == {"blocked"}
    events = await outbox_events(db, {"type": "vm.catalog.number.blocked.v1"})
    assert Counter(e.subject for e in events) == {m: 1 for m in msisdns if m != refused}


async def test_two_workers_at_once_never_change_a_number_twice(db, operations, transactions):
    numbers = [a_number(3000 + n, ROOT) for n in range(90)]
    await insert(NumberStore(db), transactions, numbers)
    op = await a_block(operations, transactions, [n.msisdn for n in numbers])
    slow = SimulatedProvisioning(latency_seconds=0.01)
    await asyncio.gather(
        runner(db, transactions, slow, batch=30).run(op.id),
        runner(db, transactions, slow, batch=30).run(op.id),
    )
    ended = await operations.get(A, op.id)
    assert ended is not None and (ended.status, ended.done) == ("succeeded", 90)
    blocked = await outbox_events(db, {"type": "vm.catalog.number.blocked.v1"})
    assert len(blocked) == 90


async def test_one_worker_handed_an_operation_twice_runs_it_once(db, operations, transactions):
    numbers = [a_number(4000 + n, ROOT) for n in range(60)]
    await insert(NumberStore(db), transactions, numbers)
    op = await a_block(operations, transactions, [n.msisdn for n in numbers])
    worker = runner(db, transactions, SimulatedProvisioning(latency_seconds=0.01), batch=20)
    await asyncio.gather(worker.run(op.id), worker.run(op.id))  # catalog's and a sweeper's
    ended = await operations.get(A, op.id)
    assert ended is not None and (ended.status, ended.done) == ("succeeded", 60)
    blocked = await outbox_events(db, {"type": "vm.catalog.number.blocked.v1"})
    assert len(blocked) == 60


class StallingSmsCentre:
    """An SMS centre that takes the messages but answers only when told to (the worker
    stalls meanwhile: a long GC pause, a slow network)."""

    def __init__(self) -> None:
        self.reached = asyncio.Event()
        self.answer = asyncio.Event()
        self.taken: list[str] = []

    async def send_sms(self, to: str, text: str, *, reference: str = "") -> None:
        self.taken.append(reference)
        self.reached.set()
        await self.answer.wait()


async def test_a_worker_that_lost_its_claim_records_nothing(db, operations, transactions):
    numbers = [a_number(5000 + n, ROOT) for n in range(5)]
    await insert(NumberStore(db), transactions, numbers)
    op = await a_block(operations, transactions, [n.msisdn for n in numbers], sms="Проверка")
    centre = StallingSmsCentre()
    stalled = runner(db, transactions, None, batch=5, lease=timedelta(milliseconds=300), sms=centre)
    running = asyncio.create_task(stalled.run(op.id))
    await centre.reached.wait()
    await asyncio.sleep(0.4)  # its lease runs out while it waits
    assert await operations.claim(op.id, "w2", datetime.now(UTC), LEASE) is not None
    centre.answer.set()
    await asyncio.wait_for(running, 10)  # it stops quietly, leaving the operation to w2

    held = await operations.get(A, op.id)
    assert held is not None and (held.status, held.done) == ("running", 0)
    assert len(await operations.pending(held, 100)) == 5  # w2 sends them (same references)
    assert await db["outbox"].count_documents({"type": "vm.catalog.operation.updated.v1"}) == 1
