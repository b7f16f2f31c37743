"""Billing's warnings against a real SecantusDB and RabbitMQ: a fall below an account's
low-balance threshold (by a transfer, a charge, a promised payment's repayment) is written
to the outbox with the change, once per crossing, and published once; a promised payment's
reminder is told once, a day before it is repaid, by the scheduler's tick."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from services.billing import scheduler
from services.billing.domain import ledger as postings
from services.billing.domain.promised_payments import TERM
from services.billing.service.base import BALANCE_LOW, PROMISE_DUE, current_time, ordered_id
from services.kit.broker import EventPublisher
from services.kit.errors import InvalidArgument
from services.kit.outbox import OUTBOX, OutboxRelay
from tests.support.billing import OPERATOR, Billing, billing_cases, user_of
from tests.support.kit import Tap, eventually, outbox_events

pytestmark = pytest.mark.integration

THRESHOLD = 100_000


@pytest.fixture
async def billing(settings) -> AsyncIterator[Billing]:
    async with billing_cases(settings) as opened:
        yield opened


async def company_with_accounts(billing: Billing, count: int) -> tuple[str, list[str]]:
    company_id = f"cmp_{secrets.token_hex(4)}"
    await billing.known_company(company_id)
    accounts = []
    for _ in range(count):
        account = await billing.cases.accounts.operator_open_account(
            OPERATOR, company_id, "", "advance", 0, None
        )
        accounts.append(account.id)
    return company_id, accounts


async def pay(billing: Billing, company_id: str, account_id: str, amount: int) -> None:
    await billing.cases.money.record_payment(
        OPERATOR, f"pay_{secrets.token_hex(6)}", company_id, account_id, amount, "RUB", None
    )


async def move(billing: Billing, company_id: str, donor: str, to: str, amount: int) -> None:
    await billing.cases.money.create_transfer(
        user_of(company_id), secrets.token_hex(8), donor, to, amount, "RUB"
    )


async def charge(billing: Billing, company_id: str, account_id: str, amount: int) -> None:
    now = current_time()
    posting = postings.charge(
        ordered_id("pst", now), postings.USAGE, company_id, account_id, amount, "use_t", now
    )

    async def write(session):
        await billing.cases.usage.post(posting, session)

    await billing.cases.accounts._tx.run(write)


async def told(billing: Billing, event_type: str) -> list[dict]:
    return [event.data for event in await outbox_events(billing.db, {"type": event_type})]


async def test_a_fall_below_the_threshold_is_told_once_per_crossing(billing):
    company, (account, other) = await company_with_accounts(billing, 2)
    await pay(billing, company, account, 150_000)
    saved = await billing.cases.accounts.set_low_balance_threshold(
        user_of(company), account, THRESHOLD, "RUB"
    )
    assert saved.low_balance_threshold == THRESHOLD
    await move(billing, company, account, other, 60_000)  # 90k: told
    await charge(billing, company, account, 10_000)  # 80k: still below, not told
    await pay(billing, company, account, 20_000)  # 100k: back at it
    await charge(billing, company, account, 1)  # 99,999: told again
    await move(billing, company, account, other, 9_999)  # 90k: not told
    events = await told(billing, BALANCE_LOW)
    assert [(e["account_id"], int(e["balance"]), int(e["threshold"])) for e in events] == [
        (account, 90_000, THRESHOLD),
        (account, 99_999, THRESHOLD),
    ]
    assert all(e["company_id"] == company for e in events)
    assert await billing.ledger_problems() == []


async def test_without_a_threshold_nothing_is_told(billing):
    company, (account,) = await company_with_accounts(billing, 1)
    await pay(billing, company, account, 150_000)
    await charge(billing, company, account, 149_000)
    assert await told(billing, BALANCE_LOW) == []


async def test_a_threshold_set_above_the_balance_tells_nothing_until_a_crossing(billing):
    company, (account,) = await company_with_accounts(billing, 1)
    await pay(billing, company, account, 50_000)
    await billing.cases.accounts.set_low_balance_threshold(
        user_of(company), account, THRESHOLD, "RUB"
    )
    await charge(billing, company, account, 1_000)
    assert await told(billing, BALANCE_LOW) == []
    card, _ = await billing.cases.accounts.get_account(user_of(company), account)
    assert card.low_balance_threshold == THRESHOLD


async def test_a_negative_threshold_is_refused(billing):
    company, (account,) = await company_with_accounts(billing, 1)
    with pytest.raises(InvalidArgument):
        await billing.cases.accounts.set_low_balance_threshold(user_of(company), account, -1, "RUB")


async def test_a_promised_payments_repayment_below_the_threshold_is_told(billing):
    company, (account,) = await company_with_accounts(billing, 1)
    await pay(billing, company, account, 120_000)
    await billing.cases.accounts.set_low_balance_threshold(
        user_of(company), account, THRESHOLD, "RUB"
    )
    await billing.cases.money.take_promise(user_of(company), "k1", account, 30_000, "RUB")
    assert await told(billing, BALANCE_LOW) == []  # 150k: it rose
    assert await billing.cases.money.repay_due(current_time() + TERM + timedelta(seconds=1)) == 1
    events = await told(billing, BALANCE_LOW)
    assert [int(e["balance"]) for e in events] == []  # 120k: still above
    await charge(billing, company, account, 20_001)
    assert [int(e["balance"]) for e in await told(billing, BALANCE_LOW)] == [99_999]


async def test_a_promised_payment_is_reminded_once_a_day_before_it_is_due(billing):
    company, (account,) = await company_with_accounts(billing, 1)
    promise, _ = await billing.cases.money.take_promise(
        user_of(company), "k1", account, 30_000, "RUB"
    )
    early = promise.due_at - timedelta(days=1, minutes=1)
    await scheduler.tick(billing.cases, early)
    assert await told(billing, PROMISE_DUE) == []
    within_a_day = promise.due_at - timedelta(hours=23)
    await scheduler.tick(billing.cases, within_a_day)
    await scheduler.tick(billing.cases, within_a_day + timedelta(minutes=5))
    # Two replicas at once still tell it once.
    await asyncio.gather(
        billing.cases.money.remind_due(within_a_day), billing.cases.money.remind_due(within_a_day)
    )
    events = await told(billing, PROMISE_DUE)
    assert len(events) == 1
    (due,) = events
    assert due["company_id"] == company and due["account_id"] == account
    assert due["promised_payment_id"] == promise.id and int(due["amount"]) == 30_000
    assert due["due_at"] == promise.due_at.isoformat()


@contextlib.asynccontextmanager
async def relaying(billing: Billing, clients, settings) -> AsyncIterator[Tap]:
    tap = Tap()
    await tap.start(clients.broker, settings.events_exchange)
    publisher = EventPublisher(clients.broker, settings.events_exchange)
    await publisher.start()
    relay = OutboxRelay(billing.db, publisher, idle_poll_seconds=0.05)
    task = asyncio.create_task(relay.run())
    try:
        yield tap
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await tap.close()


async def test_each_warning_is_published_once(billing, clients, settings):
    company, (account, other) = await company_with_accounts(billing, 2)
    await pay(billing, company, account, 150_000)
    await billing.cases.accounts.set_low_balance_threshold(
        user_of(company), account, THRESHOLD, "RUB"
    )
    promise, _ = await billing.cases.money.take_promise(
        user_of(company), "k1", other, 10_000, "RUB"
    )
    await move(billing, company, account, other, 60_000)
    await billing.cases.money.remind_due(promise.due_at - timedelta(hours=1))
    wanted = [
        e.id for e in await outbox_events(billing.db, {"type": {"$in": [BALANCE_LOW, PROMISE_DUE]}})
    ]
    assert len(wanted) == 2
    async with relaying(billing, clients, settings) as tap:
        await eventually(
            lambda: all(tap.seen[event_id] for event_id in wanted),
            timeout=20,
            what="both warnings published",
        )

        async def all_sent() -> bool:
            return await billing.db[OUTBOX].count_documents({"sent_at": None}) == 0

        await eventually(all_sent, timeout=20, what="the outbox drained")
    assert [tap.seen[event_id] for event_id in wanted] == [1, 1]
