"""The network and catalog agree whatever process dies when: catalog (a single-number
call) and the bulk worker are killed with SIGKILL at each step of a change — before the
network is asked, after it answered, before its answer's commit — then restarted; the
reconciler (or the next worker) finishes or undoes each change, never guessing. Then, for
every number: the network's line and catalog's number agree, no number is left held, each
change was told once (its event, its journal entry or bulk result) or not at all."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from pymongo import AsyncMongoClient

from services.catalog.crash_points import AFTER_NETWORK, BEFORE_ANSWER_COMMIT, BEFORE_NETWORK
from services.catalog.provisioning import (
    BlockChange,
    MongoAnswers,
    SimulatedProvisioning,
    change_doc,
)
from services.catalog.service.system_blocks import FINANCIAL, SystemBlockCases
from services.catalog.store.accounts import AccountLinks
from services.catalog.store.intents import IntentStore
from services.catalog.store.numbers import NumberStore
from services.kit.ids import new_id
from services.kit.mongo import Transactions
from tests.e2e.test_catalog_bulk_operations import finished, results, start
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.support.kit import outbox_events
from tests.support.system import RunningSystem

pytestmark = pytest.mark.e2e

STEPS = (BEFORE_NETWORK, AFTER_NETWORK, BEFORE_ANSWER_COMMIT)
# Whether the network has the change once the process died at the step.
APPLIED_AT = {BEFORE_NETWORK: False, AFTER_NETWORK: True, BEFORE_ANSWER_COMMIT: True}
BLOCKED = "vm.catalog.number.blocked.v1"
JOURNAL = "vm.catalog.operation.updated.v1"
PROCESSES = {
    "catalog": "services.catalog",
    "catalog-worker": "services.catalog.bulk_worker",
}


@pytest.fixture
async def admin(api, company) -> dict[str, str]:
    return bearer(await register(api, company))


@pytest.fixture
async def mongo(system: RunningSystem):
    client: AsyncMongoClient = AsyncMongoClient(system.settings.mongo_url, tz_aware=True)
    yield client
    await client.close()


# The lease a dying process gives its changes: long enough for the test to see the number
# held after the restart, before the reconciler takes the change over.
DYING_LEASE = {"VM_WORK_LEASE_SECONDS": "15"}


def restart(system: RunningSystem, name: str, crash_at: str = "", **env: str) -> None:
    """Kill the process (-9) and start it again, dying at `crash_at` if given."""
    process = system.processes.pop(name)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    own = {**env, "VM_CRASH_AT": crash_at} if crash_at else env
    system.start_process(name, PROCESSES[name], own)


def died(system: RunningSystem, name: str, timeout: float = 60) -> int:
    return system.processes[name].wait(timeout=timeout)


async def healthy(system: RunningSystem) -> None:
    await asyncio.to_thread(system.wait_healthy)


# A 503 that says to try again: no reason (the gateway has not reconnected to a restarted
# service) or the call's deadline passed while the database still held the writes of a
# transaction whose process was killed (until it times the transaction out). A 503 of the
# network (`provisioning_failed`, `provisioning_pending`) is the call's answer.
AGAIN = (None, "deadline_exceeded")


async def served(call, timeout: float = 150) -> httpx.Response:
    """The call, again while its 503 says to try again (AGAIN)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await call()
        if response.status_code != 503 or response.json().get("reason") not in AGAIN:
            return response
        assert asyncio.get_running_loop().time() < deadline, response.text
        await asyncio.sleep(0.2)


async def settled(mongo: AsyncMongoClient, system: RunningSystem, timeout: float = 90) -> None:
    """Until no change is pending (the reconciler or the next worker answered each)."""
    intents = mongo[system.settings.database_name("catalog")]["provisioning_intents"]
    deadline = asyncio.get_running_loop().time() + timeout
    while await intents.count_documents({"state": "pending"}):
        assert asyncio.get_running_loop().time() < deadline, "changes left pending"
        await asyncio.sleep(0.2)


async def agree(mongo: AsyncMongoClient, system: RunningSystem, msisdns: list[str]) -> None:
    """For every number: catalog's document says what the network's line says, and no
    number is held by a change."""
    network = SimulatedProvisioning(
        answers=MongoAnswers(mongo[system.settings.database_name("network")])
    )
    catalog_db = mongo[system.settings.database_name("catalog")]
    held = catalog_db["provisioning_intents"].find(
        {"msisdn": {"$in": msisdns}, "state": "pending", "held": True}
    )
    assert [doc["msisdn"] async for doc in held] == [], "numbers left held"
    for msisdn in msisdns:
        doc = await catalog_db["numbers"].find_one({"_id": msisdn})
        assert doc is not None, msisdn
        line = await network.line(msisdn)
        blocks = {b["type"] for b in doc["blocks"]}
        for block_type, is_set in line.blocks.items():
            assert (block_type in blocks) is is_set, (msisdn, line, blocks)
        if line.tariff_id is not None:
            assert doc["tariff"]["id"] == line.tariff_id, (msisdn, line)
            assert doc["tariff"]["settings"] == dict(line.settings or {}), (msisdn, line)
        services = {s["id"] for s in doc["services"]}
        for service_id, connected in line.services.items():
            assert (service_id in services) is connected, (msisdn, line, services)
        forwarding = {f["condition"]: f["target"] for f in doc["forwarding"]}
        for condition, target in line.forwarding.items():
            assert forwarding.get(condition, "") == target, (msisdn, line, forwarding)


async def numbers_for(system: RunningSystem, company_id: str, count: int) -> list[str]:
    """Fresh numbers of the company, once catalog has heard of it (identity's event)."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        try:
            return await give_numbers(system, company_id, [""] * count)
        except grpc.aio.AioRpcError as error:
            late = asyncio.get_running_loop().time() > deadline
            if error.code() != grpc.StatusCode.NOT_FOUND or late:
                raise
            await asyncio.sleep(0.5)


def blocks_of(doc) -> set[str]:
    return {b["type"] for b in doc["blocks"]}


async def told(mongo: AsyncMongoClient, system: RunningSystem, event_type: str) -> list:
    catalog = mongo[system.settings.database_name("catalog")]
    return await outbox_events(catalog, {"type": event_type})


async def network_line(mongo: AsyncMongoClient, system: RunningSystem, msisdn: str):
    network = SimulatedProvisioning(
        answers=MongoAnswers(mongo[system.settings.database_name("network")])
    )
    return await network.line(msisdn)


# ---------------------------------------------------------------- catalog, one number


@pytest.mark.timeout(600)
async def test_catalog_killed_at_each_step_of_a_single_call(
    system: RunningSystem, api, admin, company, mongo
):
    msisdns = await give_numbers(system, company.id, ["", "", "", ""])
    by_step = dict(zip(STEPS, msisdns, strict=False))
    bystander = msisdns[-1]
    try:
        for step, msisdn in by_step.items():
            restart(system, "catalog", crash_at=step, **DYING_LEASE)
            await healthy(system)
            try:
                response = await api.post(
                    f"/api/v1/numbers/{msisdn}/blocks", headers=admin, json={"type": "voluntary"}
                )
                assert response.status_code >= 500, response.text  # no answer: it died
            except httpx.HTTPError:
                pass
            assert died(system, "catalog") == -signal.SIGKILL
            # A note written meanwhile is kept whatever the change's end (only its fields
            # are written with the answer).
            restart(system, "catalog")
            await healthy(system)
            noted = await served(
                lambda m=msisdn, s=step: api.patch(
                    f"/api/v1/numbers/{m}", headers=admin, json={"label": f"после {s}"}
                )
            )
            assert noted.status_code == 200, noted.text
            if step != BEFORE_ANSWER_COMMIT:  # (there the note waited for the database
                # to time out the dead transaction: by then the reconciler may have answered)
                # Held by the change in flight until the reconciler answers it.
                again = await api.post(
                    f"/api/v1/numbers/{msisdn}/blocks", headers=admin, json={"type": "lost_stolen"}
                )
                assert again.status_code == 409, again.text
                assert again.json().get("reason") == "change_in_progress", again.json()
            # Answered by the reconciler before the next process that is to die starts
            # (else that one would die reconciling this change).
            await settled(mongo, system)
    finally:
        if system.processes["catalog"].poll() is not None:
            restart(system, "catalog")
        await healthy(system)
    await settled(mongo, system)

    # A call after all: goes through at once.
    after = await served(
        lambda: api.post(
            f"/api/v1/numbers/{bystander}/blocks", headers=admin, json={"type": "voluntary"}
        )
    )
    assert after.status_code == 200, after.text
    await agree(mongo, system, msisdns)

    blocked = Counter(e.subject for e in await told(mongo, system, BLOCKED))
    journal = [
        e.data
        for e in await told(mongo, system, JOURNAL)
        if e.data["operation"].get("single") and e.data["operation"]["company_id"] == company.id
    ]
    for step, msisdn in by_step.items():
        applied = APPLIED_AT[step]
        line = await network_line(mongo, system, msisdn)
        assert line.blocks == ({"voluntary": True} if applied else {}), (step, line)
        assert blocked[msisdn] == int(applied), step
        card = (await api.get(f"/api/v1/numbers/{msisdn}", headers=admin)).json()
        assert card["status"] == ("blocked" if applied else "active"), (step, card)
        assert card["label"] == f"после {step}", card
        entries = [
            j["results"][0]
            for j in journal
            if j["results"][0]["target"] == msisdn and j["operation"]["type"] == "block"
        ]
        # The killed call once, with the network's outcome (the 409 was told on its own).
        assert [r["status"] for r in entries if r.get("code") != "change_in_progress"] == [
            "succeeded" if applied else "failed"
        ], (step, entries)
    assert blocked[bystander] == 1


# ---------------------------------------------------------------- the bulk worker

BATCH = {"VM_BULK_BATCH_SIZE": "10"}


@pytest.mark.timeout(600)
@pytest.mark.parametrize("step", STEPS)
async def test_the_bulk_worker_killed_at_each_step_of_a_batch(
    system: RunningSystem, api, admin, company, mongo, step
):
    msisdns = await give_numbers(system, company.id, [""] * 30)
    # A number held by a single call in flight: refused with its reason, not changed.
    held = msisdns[-1]
    catalog_db = mongo[system.settings.database_name("catalog")]
    someone_elses = {
        "_id": new_id("prv"),
        "company_id": company.id,
        "msisdn": held,
        "change": change_doc(BlockChange(held, "voluntary", True)),
        "owner": "single",
        "held": True,
        "state": "pending",
        "created_at": datetime.now(UTC),
        "lease_until": datetime.now(UTC) + timedelta(hours=1),  # not the reconciler's
    }
    await catalog_db["provisioning_intents"].insert_one(someone_elses)
    restart(system, "catalog-worker", crash_at=step, **BATCH)
    try:
        op = await start(
            api, admin, {"type": "block", "msisdns": msisdns, "params": {"type": "voluntary"}}
        )
        assert await asyncio.to_thread(died, system, "catalog-worker", 120) == -signal.SIGKILL
    finally:
        restart(system, "catalog-worker")  # a new worker takes the operation over
    done = await finished(api, admin, op["id"], timeout=240)
    await catalog_db["provisioning_intents"].update_one(
        {"_id": someone_elses["_id"]}, {"$set": {"state": "refused"}}
    )

    assert (done["status"], done["total"], done["done"], done["failed"]) == (
        "partially_failed",
        30,
        30,
        1,
    ), done
    found = await results(api, admin, done)
    assert found[held]["code"] == "change_in_progress", found[held]
    assert {m for m, r in found.items() if r["status"] == "succeeded"} == set(msisdns) - {held}
    # Each target decided once in the journal's updates too.
    decided = Counter(
        r["target"]
        for e in await told(mongo, system, JOURNAL)
        if e.subject == op["id"]
        for r in e.data.get("results", ())
        if r["status"] != "pending"
    )
    assert decided == dict.fromkeys(msisdns, 1)
    blocked = Counter(e.subject for e in await told(mongo, system, BLOCKED))
    assert {m: blocked[m] for m in msisdns} == {m: int(m != held) for m in msisdns}
    assert not await catalog_db["provisioning_intents"].count_documents(
        {"operation_id": op["id"], "state": "pending"}
    )
    await agree(mongo, system, msisdns)
    for msisdn in msisdns:
        line = await network_line(mongo, system, msisdn)
        assert line.blocks == ({} if msisdn == held else {"voluntary": True}), (msisdn, line)


# ---------------------------------------------------------------- catalog, system blocks


@pytest.mark.timeout(600)
async def test_catalog_killed_at_each_step_of_a_system_block(system: RunningSystem, company, mongo):
    msisdns = await numbers_for(system, company.id, 3)
    by_step = dict(zip(STEPS, msisdns, strict=True))
    catalog_db = mongo[system.settings.database_name("catalog")]
    blocks = SystemBlockCases(
        NumberStore(catalog_db), IntentStore(catalog_db), AccountLinks(catalog_db)
    )
    transactions = Transactions(mongo)
    try:
        for step, msisdn in by_step.items():
            restart(system, "catalog", crash_at=step)
            await healthy(system)
            # As billing's balance_exhausted makes the consumer do, in its transaction.
            await transactions.run(
                lambda s, m=msisdn: blocks.set_block(company.id, [m], FINANCIAL, s)
            )
            assert await asyncio.to_thread(died, system, "catalog") == -signal.SIGKILL
            restart(system, "catalog")
            await healthy(system)
            await settled(mongo, system)
    finally:
        if system.processes["catalog"].poll() is not None:
            restart(system, "catalog")
        await healthy(system)

    await agree(mongo, system, msisdns)
    blocked = Counter(
        e.subject
        for e in await told(mongo, system, BLOCKED)
        if e.data.get("block_type") == FINANCIAL
    )
    for msisdn in msisdns:  # the system still wanted it: applied once, whatever the step
        line = await network_line(mongo, system, msisdn)
        assert line.blocks == {FINANCIAL: True}, (msisdn, line)
        assert blocked[msisdn] == 1, msisdn
        doc = await catalog_db["numbers"].find_one({"_id": msisdn})
        assert doc["status"] == "blocked" and blocks_of(doc) == {FINANCIAL}, doc
