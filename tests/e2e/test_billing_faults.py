"""Billing killed with SIGKILL (kill -9) in the middle of a stream of transfers through
the gateway: afterwards each transfer asked for happened exactly once (a client tries a
request whose answer it did not get again, with the same Idempotency-Key), balances
reconcile with the ledger, and every event left the outbox."""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter

import httpx
import pytest
from pymongo import AsyncMongoClient

from tests.e2e.test_billing import open_account, pay, rub
from tests.e2e.test_identity_flows import bearer, register
from tests.support.billing import Billing
from tests.support.kit import eventually, outbox_events

pytestmark = pytest.mark.e2e

WORKERS = 4
AMOUNT = 100
RETRY_SECONDS = 150


@pytest.mark.timeout(300)
async def test_transfers_survive_kill_9_of_billing(system, api, company):
    admin = bearer(await register(api, company))
    donor = await open_account(system, company.id)
    recipient = await open_account(system, company.id)
    await pay(system, company.id, donor, 1_000_000)
    body = {"from_account_id": donor, "to_account_id": recipient, "amount": rub(AMOUNT)}
    answers: dict[str, int | None] = {}
    stop = asyncio.Event()

    async def send(key: str) -> int | None:
        try:
            response = await api.post(
                "/api/v1/transfers", headers={**admin, "Idempotency-Key": key}, json=body
            )
        except httpx.HTTPError:
            return None  # the answer was lost
        return response.status_code

    async def client(n: int) -> None:
        sent = 0
        while not stop.is_set():
            key = f"w{n}-{sent}"
            sent += 1
            answers[key] = await send(key)

    clients = [asyncio.create_task(client(n)) for n in range(WORKERS)]
    await asyncio.sleep(1.5)
    system.stop_process("billing", signal.SIGKILL)
    await asyncio.sleep(1.0)
    system.start_process("billing", "services.billing")
    await asyncio.to_thread(system.wait_healthy)
    await asyncio.sleep(1.0)
    stop.set()
    await asyncio.gather(*clients)

    statuses = Counter(answers.values())
    assert statuses[201] > 0 and len(answers) > statuses[201], statuses  # it did fail midway
    # A request in flight when billing died may find its documents held for a while by
    # the transaction the dead process left open, until the database ends it (a minute:
    # MongoDB's transactionLifetimeLimitSeconds; SecantusDB behaves alike). A client tries
    # again until it has an answer, as it would.
    give_up = time.monotonic() + RETRY_SECONDS
    for key, status in list(answers.items()):
        while status != 201 and time.monotonic() < give_up:
            status = await send(key)
        answers[key] = status
    assert set(answers.values()) == {201}

    client_db = AsyncMongoClient(system.settings.mongo_url, tz_aware=True)
    try:
        db = client_db[system.settings.database_name("billing")]
        transfers = await db["transfers"].count_documents({"company_id": company.id})
        assert transfers == len(answers)  # each key once, none lost
        accounts = {
            doc["_id"]: doc["balance"]
            async for doc in db["accounts"].find({"company_id": company.id})
        }
        assert accounts[donor] == 1_000_000 - AMOUNT * transfers
        assert accounts[recipient] == AMOUNT * transfers
        assert await Billing(None, db).ledger_problems() == []  # type: ignore[arg-type]

        async def every_event_sent() -> bool:
            pending = await db["outbox"].count_documents({"sent_at": None})
            return pending == 0

        await eventually(every_event_sent, timeout=60, interval=0.5, what="every event sent")
        completed = await outbox_events(db, {"type": "vm.billing.transfer.completed.v1"})
        ids = [event.data["transfer_id"] for event in completed if event.company_id == company.id]
        assert len(ids) == len(set(ids)) == transfers
    finally:
        await client_db.close()
