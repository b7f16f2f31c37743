"""Billing's money against a real SecantusDB: payments, transfers (idempotent, never
beyond the donor's available amount, also under concurrency), promised payments and
their repayment, with the ledger's invariants checked after each."""

from __future__ import annotations

import asyncio
import random
import secrets
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from services.billing.domain.accounts import CREDIT
from services.billing.store.money import TransferStore
from services.kit.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidArgument,
    NotAllowed,
    NotFound,
)
from tests.support.billing import OPERATOR, Billing, billing_cases, user_of
from tests.support.mongo_commands import Finds

pytestmark = pytest.mark.integration


@pytest.fixture
async def billing(settings) -> Billing:
    async with billing_cases(settings) as opened:
        yield opened


async def company_with_accounts(billing: Billing, *methods: str) -> tuple[str, list[str]]:
    company_id = f"cmp_{secrets.token_hex(4)}"
    await billing.known_company(company_id)
    accounts = []
    for method in methods:
        limit = 100_000 if method == CREDIT else 0
        account = await billing.cases.accounts.operator_open_account(
            OPERATOR, company_id, "", method, limit, None
        )
        accounts.append(account.id)
    return company_id, accounts


async def pay(billing: Billing, company_id: str, account_id: str, amount: int) -> None:
    await billing.cases.money.record_payment(
        OPERATOR, f"pay_{secrets.token_hex(6)}", company_id, account_id, amount, "RUB", None
    )


async def balance(billing: Billing, company_id: str, account_id: str) -> int:
    return (await billing.cases.stores.ledger.get(company_id, account_id)).balance


async def test_a_payment_is_booked_once_per_payment_id(billing):
    company, (account,) = await company_with_accounts(billing, "advance")
    first = await billing.cases.money.record_payment(
        OPERATOR, "bank-1", company, account, 50_000, "RUB", None
    )
    again = await billing.cases.money.record_payment(
        OPERATOR, "bank-1", company, account, 50_000, "RUB", None
    )
    assert again[2] is True and again[0].id == first[0].id
    assert await balance(billing, company, account) == 50_000
    with pytest.raises(IdempotencyKeyReused):
        await billing.cases.money.record_payment(
            OPERATOR, "bank-1", company, account, 60_000, "RUB", None
        )
    assert await billing.ledger_problems() == []


async def test_a_transfer_moves_money_and_its_key_answers_once(billing):
    company, (donor, recipient) = await company_with_accounts(billing, "advance", "advance")
    await pay(billing, company, donor, 10_000)
    user = user_of(company)
    first, replayed = await billing.cases.money.create_transfer(
        user, "k1", donor, recipient, 4_000, "RUB"
    )
    again, replayed_again = await billing.cases.money.create_transfer(
        user, "k1", donor, recipient, 4_000, "RUB"
    )
    assert (replayed, replayed_again) == (False, True) and again.id == first.id
    with pytest.raises(IdempotencyKeyReused):
        await billing.cases.money.create_transfer(user, "k1", donor, recipient, 5_000, "RUB")
    assert await balance(billing, company, donor) == 6_000
    assert await balance(billing, company, recipient) == 4_000
    assert await billing.ledger_problems() == []


@pytest.mark.parametrize(
    ("amount", "currency", "to_same", "error"),
    [
        (0, "RUB", False, InvalidArgument),
        (-5, "RUB", False, InvalidArgument),
        (10**13, "RUB", False, InvalidArgument),
        (100, "USD", False, InvalidArgument),
        (100, "RUB", True, NotAllowed),  # a rule across two fields: 409 (it was 422)
        (20_000, "RUB", False, InsufficientFunds),
    ],
)
async def test_bad_transfers_write_nothing(billing, amount, currency, to_same, error):
    company, (donor, recipient) = await company_with_accounts(billing, "advance", "advance")
    await pay(billing, company, donor, 10_000)
    target = donor if to_same else recipient
    with pytest.raises(error):
        await billing.cases.money.create_transfer(
            user_of(company), "k", donor, target, amount, currency
        )
    assert await billing.db["transfers"].count_documents({}) == 0
    assert await balance(billing, company, donor) == 10_000


async def test_another_companys_account_is_not_found(billing):
    company, (donor,) = await company_with_accounts(billing, "advance")
    other, (foreign,) = await company_with_accounts(billing, "advance")
    await pay(billing, company, donor, 10_000)
    with pytest.raises(NotFound):
        await billing.cases.money.create_transfer(user_of(company), "k", donor, foreign, 100, "RUB")
    with pytest.raises(NotFound):
        await billing.cases.money.create_transfer(user_of(other), "k", donor, foreign, 1, "RUB")
    assert await balance(billing, company, donor) == 10_000


async def test_an_accounts_transfers_are_those_it_gave_and_took_newest_first(billing, settings):
    company, accounts = await company_with_accounts(billing, "advance", "advance", "advance")
    other, (foreign, foreign_too) = await company_with_accounts(billing, "advance", "advance")
    for account in accounts:
        await pay(billing, company, account, 100_000)
    await pay(billing, other, foreign, 100_000)
    rng = random.Random(15)
    made = []
    for n in range(30):
        donor, recipient = rng.sample(accounts, 2)
        transfer, _ = await billing.cases.money.create_transfer(
            user_of(company), f"k{n}", donor, recipient, 100, "RUB"
        )
        made.append(transfer)
    await billing.cases.money.create_transfer(user_of(other), "k", foreign, foreign_too, 100, "RUB")

    for account in ["", *accounts]:
        wanted = sorted(
            (t.id for t in made if account in ("", t.from_account_id, t.to_account_id)),
            reverse=True,
        )
        for size in (1, 4, 7):
            seen, token = [], ""
            while True:
                page, token = await billing.cases.money.list_transfers(
                    user_of(company), account, size, token
                )
                seen += [transfer.id for transfer in page]
                if not token:
                    break
            assert seen == wanted, (account, size)

    # Each side of one account's list is a range of an index, not a scan of every
    # company's transfers (a top-level `$or`).
    finds = Finds()
    client: AsyncMongoClient = AsyncMongoClient(
        settings.mongo_url, tz_aware=True, event_listeners=[finds]
    )
    try:
        store = TransferStore(client[billing.db.name])
        page = await store.page(company, accounts[0], made[-1].id, 5)
    finally:
        await client.close()
    assert [t.id for t in page] == [
        t.id
        for t in sorted(made, key=lambda t: t.id, reverse=True)
        if t.id < made[-1].id and accounts[0] in (t.from_account_id, t.to_account_id)
    ][:5]
    assert len(finds.filters) == 2 and finds.with_top_level_operators() == []


async def test_32_identical_transfers_with_one_key_have_one_effect(billing):
    company, (donor, recipient) = await company_with_accounts(billing, "advance", "advance")
    await pay(billing, company, donor, 100_000)
    user = user_of(company)
    results = await asyncio.gather(
        *(
            billing.cases.money.create_transfer(user, "same", donor, recipient, 1_000, "RUB")
            for _ in range(32)
        )
    )
    assert len({transfer.id for transfer, _ in results}) == 1
    assert sum(1 for _, replayed in results if not replayed) == 1
    assert await balance(billing, company, donor) == 99_000
    assert await billing.db["transfers"].count_documents({}) == 1
    assert await billing.ledger_problems() == []


async def test_parallel_transfers_never_overdraw_the_donor(billing):
    company, (donor, a, b) = await company_with_accounts(billing, "advance", "advance", "credit")
    await pay(billing, company, donor, 10_000)
    user = user_of(company)

    async def attempt(n: int) -> bool:
        try:
            await billing.cases.money.create_transfer(
                user, f"k{n}", donor, a if n % 2 else b, 700, "RUB"
            )
        except InsufficientFunds:
            return False
        return True

    done = await asyncio.gather(*(attempt(n) for n in range(32)))
    assert sum(done) == 14  # 14 × 700 = 9,800 ≤ 10,000 < 15 × 700
    assert await balance(billing, company, donor) == 10_000 - 14 * 700
    assert await billing.ledger_problems() == []


async def test_a_promised_payment_is_capped_single_and_repaid_when_it_ends(billing):
    company, (advance, credit) = await company_with_accounts(billing, "advance", "credit")
    user = user_of(company)
    with pytest.raises(NotAllowed, match="at most"):
        await billing.cases.money.take_promise(user, "p0", advance, 50_001, "RUB")
    with pytest.raises(NotAllowed):
        await billing.cases.money.take_promise(user, "p1", credit, 1_000, "RUB")
    promise, _ = await billing.cases.money.take_promise(user, "p2", advance, 30_000, "RUB")
    with pytest.raises(NotAllowed):
        await billing.cases.money.take_promise(user, "p3", advance, 1_000, "RUB")
    assert await balance(billing, company, advance) == 30_000
    assert await billing.cases.money.repay_due(datetime.now(UTC)) == 0
    later = promise.due_at + timedelta(seconds=1)
    repaid = await asyncio.gather(*(billing.cases.money.repay_due(later) for _ in range(2)))
    assert sum(repaid) == 1  # two schedulers, one repayment
    assert await balance(billing, company, advance) == 0
    blocked = await billing.cases.stores.ledger.get(company, advance)
    assert blocked.blocked  # an advance account at zero
    assert await billing.ledger_problems() == []
