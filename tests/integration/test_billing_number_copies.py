"""Billing's copy of catalog's numbers against a real SecantusDB: each run of catalog's
events is applied as one batch (the consumer's BatchHandler) with the same effect as one
event at a time.

- `number.added`: each new number billed to the company's first account with its move told
  once, a number known already keeping its account, a repeat changing nothing, and a
  company without an account yet leaving its numbers waiting;
- moves, tariff changes, services connected and disconnected: applied in order, another
  company's number untouched."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from services.billing import consumers
from services.kit.consumer import BatchHandler
from services.kit.events import Event, new_event
from tests.support.billing import OPERATOR, Billing, billing_cases
from tests.support.kit import outbox_events
from vm.catalog.events.v1 import events_pb2 as catalog_events

pytestmark = pytest.mark.integration


@pytest.fixture
async def billing(settings) -> AsyncIterator[Billing]:
    async with billing_cases(settings) as opened:
        yield opened


def added(company_id: str, msisdn: str, node_id: str = "nod_a") -> Event:
    return new_event(
        consumers.NUMBER_ADDED,
        catalog_events.NumberAdded(
            company_id=company_id, msisdn=msisdn, node_id=node_id, tariff_id="trf_x"
        ),
        source="/tests",
    )


async def apply_run(billing: Billing, events: list[Event]) -> None:
    handler = consumers.handlers(billing.cases.stores.companies, billing.cases)[events[0].type]
    assert isinstance(handler, BatchHandler)
    await billing.cases.accounts._tx.run(lambda session: handler.apply_all(events, session))


async def company(billing: Billing, accounts: int) -> tuple[str, list[str]]:
    company_id = f"cmp_{secrets.token_hex(4)}"
    await billing.known_company(company_id)
    opened = [
        (
            await billing.cases.accounts.operator_open_account(
                OPERATOR, company_id, "", "advance", 0, None
            )
        ).id
        for _ in range(accounts)
    ]
    return company_id, opened


def fresh_msisdns(count: int) -> list[str]:
    return [f"79{secrets.randbelow(10**9):09d}" for _ in range(count)]


async def account_moves(billing: Billing, msisdns: list[str]) -> list[str]:
    """The msisdns of the `number.account_changed` events in the outbox, in order."""
    moved = await outbox_events(billing.db, {"type": "vm.billing.number.account_changed.v1"})
    return [e.data["msisdn"] for e in moved if e.data.get("msisdn") in msisdns]


async def test_a_run_of_new_numbers_goes_to_the_first_account_once(billing):
    company_id, [first, second] = await company(billing, 2)
    known, *new = fresh_msisdns(4)
    await apply_run(billing, [added(company_id, known)])
    await billing.cases.numbers.move_to_account(
        OPERATOR, known, second, None, company_id=company_id
    )

    # The known number again (a redelivery), the new ones, and a new one twice.
    await apply_run(
        billing,
        [
            added(company_id, known, "nod_b"),
            *(added(company_id, m) for m in new),
            added(company_id, new[0]),
        ],
    )

    numbers = {
        doc["_id"]: doc
        async for doc in billing.db["billing_numbers"].find({"company_id": company_id})
    }
    assert {m: numbers[m]["account_id"] for m in new} == dict.fromkeys(new, first)
    assert numbers[known]["account_id"] == second and numbers[known]["node_id"] == "nod_b"
    assert sorted(await account_moves(billing, new)) == sorted(new)  # told once each


async def test_numbers_of_a_company_without_an_account_wait_without_one(billing):
    company_id, _ = await company(billing, 0)
    msisdns = fresh_msisdns(3)

    await apply_run(billing, [added(company_id, m) for m in msisdns])

    docs = await billing.db["billing_numbers"].find({"_id": {"$in": msisdns}}).to_list()
    assert sorted(d["_id"] for d in docs) == sorted(msisdns)
    assert {d["account_id"] for d in docs} == {""}
    assert await account_moves(billing, msisdns) == []


def changed(event_type: str, payload) -> Event:
    return new_event(event_type, payload, source="/tests")


async def test_a_run_of_changes_is_applied_in_order_to_the_companys_numbers(billing):
    company_id, _ = await company(billing, 1)
    other_id, _ = await company(billing, 1)
    mine, theirs = fresh_msisdns(2)
    await apply_run(billing, [added(company_id, mine)])
    await apply_run(billing, [added(other_id, theirs)])

    connected = catalog_events.NumberServiceChanged(
        company_id=company_id, msisdn=mine, service_id="srv_roaming"
    )
    kept = catalog_events.NumberServiceChanged(
        company_id=company_id, msisdn=mine, service_id="srv_kept"
    )
    await apply_run(
        billing,
        [
            changed(consumers.SERVICE_CONNECTED, connected),
            changed(consumers.SERVICE_CONNECTED, kept),
            changed(
                consumers.NUMBER_MOVED,
                catalog_events.NumberMoved(company_id=company_id, msisdn=mine, node_id="nod_m"),
            ),
            changed(
                consumers.TARIFF_CHANGED,
                catalog_events.NumberTariffChanged(
                    company_id=company_id, msisdn=mine, tariff_id="trf_new"
                ),
            ),
            changed(consumers.SERVICE_DISCONNECTED, connected),
            # Another company's event about its own number must not touch it through ours.
            changed(
                consumers.TARIFF_CHANGED,
                catalog_events.NumberTariffChanged(
                    company_id=company_id, msisdn=theirs, tariff_id="trf_wrong"
                ),
            ),
        ],
    )

    doc = await billing.db["billing_numbers"].find_one({"_id": mine})
    assert (doc["node_id"], doc["tariff_id"], doc["services"]) == ("nod_m", "trf_new", ["srv_kept"])
    other = await billing.db["billing_numbers"].find_one({"_id": theirs})
    assert other["tariff_id"] == "trf_x" and other["company_id"] == other_id
