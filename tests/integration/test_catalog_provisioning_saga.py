"""Changes of the network as a saga, against the real MongoDB-protocol server: an intent a
process left is settled by the reconciler (finished when the network applied it, undone
when it never saw it); system blocks are queued in the consumer's transaction and reach
the network in the order they were wanted, after any other change of the number in
flight, again when the network refused them."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from services.catalog.domain import operations as rules
from services.catalog.domain.numbers import Scope
from services.catalog.provisioning import (
    BlockChange,
    ProvisioningFailed,
    SimChange,
    SimulatedProvisioning,
)
from services.catalog.service.provisioning_saga import CONFIRMED, ChangeInProgress, ProvisioningSaga
from services.catalog.service.system_blocks import FINANCIAL, SystemBlockCases
from services.catalog.store.accounts import AccountLinks
from services.catalog.store.intents import SINGLE, Intent, IntentStore
from services.catalog.store.number_changes import NumberChanges, fields_changed
from services.catalog.store.numbers import NumberStore
from services.catalog.store.operations import OperationStore
from services.kit import single_operation as single
from services.kit.errors import Conflict
from services.kit.ids import new_id
from services.kit.outbox import Outbox
from tests.integration.test_catalog_bulk_runner import DiesOnce, WorkerDied, a_block, runner
from tests.integration.test_catalog_number_store import ROOT, A, a_number, insert
from tests.support.kit import outbox_events

pytestmark = pytest.mark.integration

LATER = timedelta(minutes=5)  # past any lease


@pytest.fixture
async def numbers(db, transactions) -> list:
    await IntentStore(db).ensure_indexes()
    found = [a_number(8000 + n, ROOT) for n in range(3)]
    await insert(NumberStore(db), transactions, found)
    return found


def saga(db, transactions, network) -> ProvisioningSaga:
    return ProvisioningSaga(
        IntentStore(db), NumberChanges(db), transactions, Outbox(db), network, lease=timedelta(0)
    )


def blocks_of(doc) -> set[str]:
    return {b["type"] for b in doc["blocks"]}


async def a_single_block(saga_: ProvisioningSaga, transactions, number) -> Intent:
    """Phase A of a single call, as a process that dies right after leaves it."""
    after = rules.with_block(number, "voluntary", datetime.now(UTC))
    journal = single.SingleOperation(
        "catalog",
        A,
        "block",
        "Блокировка",
        "numbers.blocks",
        number.msisdn,
        "usr_1",
        datetime.now(UTC),
    )
    intent = Intent(
        reference=new_id("prv"),
        company_id=A,
        msisdn=number.msisdn,
        change=BlockChange(number.msisdn, "voluntary", set=True),
        fields=fields_changed(number, after),
        event=None,
        owner=SINGLE,
        journal=asdict(journal),
    )
    await transactions.run(lambda s: saga_.intend([intent], s, lease=LATER / 2))
    return intent


async def test_the_reconciler_finishes_what_the_network_did_and_undoes_what_it_never_saw(
    db, transactions, numbers
):
    network = SimulatedProvisioning()
    reconciler = saga(db, transactions, network)
    applied, never = numbers[0], numbers[1]
    first = await a_single_block(reconciler, transactions, applied)
    left = await a_single_block(reconciler, transactions, never)
    with pytest.raises(ChangeInProgress):  # held: no other change of it meanwhile
        await a_single_block(reconciler, transactions, never)
    await network.apply(first.change, first.reference)  # the process died after this

    await reconciler.reconcile(datetime.now(UTC) + LATER)
    docs = {d["_id"]: d async for d in db["numbers"].find()}
    assert blocks_of(docs[applied.msisdn]) == {"voluntary"}
    assert blocks_of(docs[never.msisdn]) == set()
    assert not await IntentStore(db).locked([n.msisdn for n in numbers])
    assert await network.settle(left.reference) is False  # refused for ever
    with pytest.raises(ProvisioningFailed):  # a late request of it changes nothing
        await network.apply(left.change, left.reference)
    journal = [
        e.data["results"][0]
        for e in await outbox_events(db, {"type": "vm.catalog.operation.updated.v1"})
    ]
    assert sorted((r["target"], r["status"]) for r in journal) == [
        (applied.msisdn, "succeeded"),
        (never.msisdn, "failed"),
    ]


async def test_system_blocks_wait_their_turn_and_are_asked_again_when_refused(
    db, transactions, numbers
):
    held, refused, plain = numbers
    network = SimulatedProvisioning(fail_msisdns=[refused.msisdn])
    reconciler = saga(db, transactions, network)
    blocks = SystemBlockCases(NumberStore(db), IntentStore(db), AccountLinks(db))
    single_call = await a_single_block(reconciler, transactions, held)

    async def want(blocked: bool) -> None:
        change = blocks.set_block if blocked else blocks.lift_block
        msisdns = [n.msisdn for n in numbers]
        await transactions.run(lambda s: change(A, msisdns, FINANCIAL, s))

    await want(True)
    await want(False)  # wanted last: the end state, though both wait for the held number
    await want(True)
    now = datetime.now(UTC)
    for _ in range(6):
        await reconciler.reconcile(now)
    docs = {d["_id"]: d async for d in db["numbers"].find()}
    assert blocks_of(docs[plain.msisdn]) == {FINANCIAL}
    assert blocks_of(docs[held.msisdn]) == set()  # still waiting for the call in flight
    holder = await db["provisioning_intents"].find_one(
        {"msisdn": held.msisdn, "state": "pending", "held": True}
    )
    assert holder is not None and holder["_id"] == single_call.reference

    await network.apply(single_call.change, single_call.reference)
    for _ in range(6):
        await reconciler.reconcile(datetime.now(UTC) + LATER)
    docs = {d["_id"]: d async for d in db["numbers"].find()}
    assert blocks_of(docs[held.msisdn]) == {"voluntary", FINANCIAL}
    assert blocks_of(docs[refused.msisdn]) == set()  # refused each time, asked again later
    assert (
        await db["provisioning_intents"].count_documents(
            {"msisdn": refused.msisdn, "state": "refused"}
        )
        >= 2
    )
    assert not await IntentStore(db).locked([held.msisdn, plain.msisdn])
    for number in (held, plain):
        line = await network.line(number.msisdn)
        assert line.blocks.get(FINANCIAL) is True
    store = NumberStore(db)
    statuses = {n.msisdn: n.status for n in await store.get_many(Scope(A), [plain.msisdn])}
    assert statuses == {plain.msisdn: "blocked"}


async def test_a_cancelled_operation_answers_the_changes_a_dead_worker_left_first(db, transactions):
    await IntentStore(db).ensure_indexes()
    targets = [a_number(8100 + n, ROOT) for n in range(30)]
    await insert(NumberStore(db), transactions, targets)
    operations = OperationStore(db)
    await operations.ensure_indexes()
    op = await a_block(operations, transactions, [n.msisdn for n in targets])
    with pytest.raises(WorkerDied):  # its first batch's intents are left pending
        await runner(db, transactions, DiesOnce(at=1, fail=[]), batch=10).run(op.id)
    await transactions.run(lambda s: operations.cancel(A, op.id, datetime.now(UTC), s))

    await runner(db, transactions, SimulatedProvisioning(), batch=10).run(op.id)
    ended = await operations.get(A, op.id)
    assert ended is not None and (ended.status, ended.done) == ("cancelled", 10)
    docs = {d["_id"]: d async for d in db["numbers"].find()}
    first = [n.msisdn for n in targets[:10]]
    assert {m for m, d in docs.items() if blocks_of(d)} == set(first)
    assert not await IntentStore(db).locked(list(docs))
    listed = await operations.results_page(A, op.id, "", None, 100)
    results = {r.msisdn: r.status for _, r in listed}
    assert {m for m, s in results.items() if s == "succeeded"} == set(first)
    assert {s for m, s in results.items() if m not in first} == {"cancelled"}


async def test_a_sim_card_on_its_way_to_one_number_is_refused_to_another(db, transactions, numbers):
    network = SimulatedProvisioning()
    saga_ = saga(db, transactions, network)
    await saga_.ensure_indexes()
    card = "8970199000000000017"

    def sim_intent(number) -> Intent:
        after = rules.with_sim(number, card)
        return Intent(
            reference=new_id("prv"),
            company_id=A,
            msisdn=number.msisdn,
            change=SimChange(number.msisdn, card),
            fields=fields_changed(number, after),
            event=None,
            owner=SINGLE,
        )

    first = sim_intent(numbers[0])
    await transactions.run(lambda s: saga_.intend([first], s, lease=LATER))
    # The card is on no number yet (the network has not answered), but it is taken.
    with pytest.raises(Conflict) as taken:
        await transactions.run(lambda s: saga_.intend([sim_intent(numbers[1])], s, lease=LATER))
    assert taken.value.reason == "ALREADY_EXISTS"
    assert await saga_.intents.locked([numbers[1].msisdn]) == set()

    await network.apply(first.change, first.reference)
    assert await transactions.run(lambda s: saga_.record(first, CONFIRMED, s))
    assert (await db["numbers"].find_one({"_id": numbers[0].msisdn}))["iccid"] == card


async def test_a_change_holds_its_number_by_its_intent_and_writes_the_number_once(
    db, transactions, numbers
):
    network = SimulatedProvisioning()
    saga_ = saga(db, transactions, network)
    number = numbers[0]
    before = await db["numbers"].find_one({"_id": number.msisdn})

    intent = await a_single_block(saga_, transactions, number)
    # Held, and its document untouched: the hold is the pending intent.
    assert await db["numbers"].find_one({"_id": number.msisdn}) == before
    assert await saga_.intents.locked([n.msisdn for n in numbers]) == {number.msisdn}
    with pytest.raises(ChangeInProgress):
        await a_single_block(saga_, transactions, number)
    await a_single_block(saga_, transactions, numbers[1])  # another number is free

    await network.apply(intent.change, intent.reference)
    assert await transactions.run(lambda s: saga_.record(intent, CONFIRMED, s))
    after = await db["numbers"].find_one({"_id": number.msisdn})
    recorded = await db["provisioning_intents"].find_one({"_id": intent.reference})
    assert after == before | recorded["fields"]  # the change's fields, nothing else
    assert await saga_.intents.locked([number.msisdn]) == set()  # let go by the answer
    await a_single_block(saga_, transactions, number)  # and free for the next change


async def test_of_changes_racing_for_one_number_one_holds_it_and_the_others_are_refused(
    db, transactions, numbers
):
    saga_ = saga(db, transactions, SimulatedProvisioning())
    number = numbers[2]

    async def attempt() -> str:
        try:
            await a_single_block(saga_, transactions, number)
        except ChangeInProgress:
            return "refused"
        return "held"

    outcomes = await asyncio.gather(*(attempt() for _ in range(8)))
    assert sorted(outcomes) == ["held"] + ["refused"] * 7
    pending = await db["provisioning_intents"].count_documents(
        {"msisdn": number.msisdn, "state": "pending"}
    )
    assert pending == 1  # a refused attempt left nothing behind
