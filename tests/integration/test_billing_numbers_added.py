"""Billing's copy of catalog's new numbers against a real SecantusDB: a run of
`number.added` events is applied as one batch (the consumer's BatchHandler) with the same
effect as one event at a time — each new number billed to the company's first account with
its move told once, a number known already keeping its account, a repeat changing nothing,
and a company without an account yet leaving its numbers waiting."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pytest

from services.billing import consumers
from services.kit.consumer import BatchHandler
from services.kit.events import Event, new_event
from services.kit.outbox import OUTBOX
from tests.support.billing import OPERATOR, Billing, billing_cases
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
    handler = consumers.handlers(billing.cases.stores.companies, billing.cases)[
        consumers.NUMBER_ADDED
    ]
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
    found = []
    async for doc in billing.db[OUTBOX].find({"type": "vm.billing.number.account_changed.v1"}):
        found += [m for m in msisdns if m.encode() in doc["body"]]
    return found


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
