"""Loads the demo's accounts and money through billing's operator surface: each company's
accounts, its numbers spread over them, monthly payments and fees, and Ромашка's usage of
the last months. Safe to run again: accounts are found by name, payments and usage
records carry fixed ids (a repeat is answered, not booked again), fees are charged once
per month."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from demo.data import (
    COMPANIES,
    COMPANY_ACCOUNTS,
    COMPANY_NUMBERS,
    USAGE_MONTHS,
    DemoAccount,
    account_key_of,
    demo_usage,
)
from demo.progress import SILENT, Advance, Steps
from services.kit.grpc_client import open_channel
from vm.billing.v1 import accounts_pb2, accounts_pb2_grpc, billing_pb2, resources_pb2
from vm.billing.v1 import billing_pb2_grpc as pb_grpc
from vm.common.v1 import common_pb2

Metadata = tuple[tuple[str, str], ...]
METHODS = {
    "advance": resources_pb2.SETTLEMENT_METHOD_ADVANCE,
    "credit": resources_pb2.SETTLEMENT_METHOD_CREDIT,
}
USAGE_CHUNK = 500
MOVES_AT_ONCE = 8
# How long billing may take to learn of what identity and catalog told it (events).
WAIT_SECONDS = 180


def _rub(kopecks: int) -> common_pb2.Money:
    return common_pb2.Money(amount=kopecks, currency="RUB")


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def demo_months(now: datetime) -> list[datetime]:
    """The first day of each demo month, oldest first, the current month last."""
    months = []
    year, month = now.year, now.month
    for _ in range(USAGE_MONTHS + 1):
        months.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


async def ensure_billing(
    billing_addr: str,
    operator: Metadata,
    company_ids: dict[str, str],
    *,
    history: bool = True,
    steps: Steps = SILENT,
) -> list[str]:
    """Each company's accounts with its numbers spread over them; with `history`, also the
    months of payments, fees and usage."""
    report = []
    async with open_channel(billing_addr) as channel:
        stub = pb_grpc.BillingOperatorServiceStub(channel)
        for demo in COMPANIES:
            company_id = company_ids[demo.inn]
            numbers = COMPANY_NUMBERS[demo.inn]
            with steps.step(f"{demo.name}: accounts and their numbers", len(numbers)) as advance:
                accounts = await _ensure_accounts(
                    stub, operator, company_id, COMPANY_ACCOUNTS[demo.inn]
                )
                await _wait_for_numbers(stub, operator, company_id, len(numbers))
                moved = await _spread_numbers(
                    channel, operator, company_id, demo.inn, accounts, advance
                )
            booked = "no history"
            if history:
                months = len(demo_months(datetime.now(UTC)))
                with steps.step(f"{demo.name}: payments, fees and usage", months) as advance:
                    booked = await _book_months(
                        stub, operator, company_id, demo.inn, accounts, advance
                    )
            report.append(
                f"{demo.name}: {len(accounts)} accounts, {moved} numbers moved to theirs, {booked}"
            )
    return report


async def _ensure_accounts(
    stub: pb_grpc.BillingOperatorServiceStub,
    operator: Metadata,
    company_id: str,
    wanted: tuple[DemoAccount, ...],
) -> dict[str, str]:
    """Demo key → account id; an account missing by name is opened (in order)."""
    await _wait_for_company(stub, operator, company_id)
    listed = await stub.ListCompanyAccounts(
        billing_pb2.ListCompanyAccountsRequest(company_id=company_id), metadata=operator, timeout=10
    )
    by_name = {account.name: account.id for account in listed.accounts}
    found: dict[str, str] = {}
    for account in wanted:
        if account.name not in by_name:
            opened = await stub.OpenCompanyAccount(
                billing_pb2.OpenCompanyAccountRequest(
                    company_id=company_id,
                    name=account.name,
                    settlement_method=METHODS[account.method],
                    credit_limit=_rub(account.credit_limit),
                ),
                metadata=operator,
                timeout=10,
            )
            by_name[account.name] = opened.account.id
        found[account.key] = by_name[account.name]
    return found


async def _wait_for_company(
    stub: pb_grpc.BillingOperatorServiceStub, operator: Metadata, company_id: str
) -> None:
    """Until billing knows the company (identity's event; it may queue behind others)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        try:
            await stub.GetCompany(
                billing_pb2.GetCompanyRequest(company_id=company_id), metadata=operator, timeout=10
            )
            return
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND:
                raise
        if asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(f"billing did not learn of the company in {WAIT_SECONDS} s")
        await asyncio.sleep(0.1)


async def _wait_for_numbers(
    stub: pb_grpc.BillingOperatorServiceStub, operator: Metadata, company_id: str, count: int
) -> None:
    """Until billing has every number of the company on an account (catalog's events)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while asyncio.get_running_loop().time() < deadline:
        listed = await stub.ListCompanyAccounts(
            billing_pb2.ListCompanyAccountsRequest(company_id=company_id),
            metadata=operator,
            timeout=10,
        )
        if sum(account.number_count for account in listed.accounts) >= count:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("billing did not learn of every demo number")


async def _spread_numbers(
    channel: grpc.aio.Channel,
    operator: Metadata,
    company_id: str,
    inn: str,
    accounts: dict[str, str],
    advance: Advance,
) -> int:
    """Each number to its account (the operator acting for the company, as catalog's bulk
    operations do); a number there already stays."""
    stub = accounts_pb2_grpc.AccountServiceStub(channel)
    demo_accounts = COMPANY_ACCOUNTS[inn]
    gate = asyncio.Semaphore(MOVES_AT_ONCE)

    async def move(msisdn: str, account_id: str) -> int:
        async with gate:
            try:
                await stub.MoveNumberToAccount(
                    accounts_pb2.MoveNumberToAccountRequest(
                        msisdn=msisdn, account_id=account_id, company_id=company_id, actor="demo"
                    ),
                    metadata=operator,
                    timeout=30,
                )
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.FAILED_PRECONDITION:  # there already
                    raise
                return 0
            finally:
                advance(1)
            return 1

    first = demo_accounts[0].key
    advance(sum(account_key_of(number, demo_accounts) == first for number in COMPANY_NUMBERS[inn]))
    moves = [
        move(number.msisdn, accounts[key])
        for number in COMPANY_NUMBERS[inn]
        if (key := account_key_of(number, demo_accounts)) != first
    ]
    return sum(await asyncio.gather(*moves))


async def _book_months(
    stub: pb_grpc.BillingOperatorServiceStub,
    operator: Metadata,
    company_id: str,
    inn: str,
    accounts: dict[str, str],
    advance: Advance,
) -> str:
    """Month after month: each account's payment, the month's fees, the month's usage
    (Ромашка's numbers only)."""
    now = datetime.now(UTC)
    usage_records = 0
    with_usage = inn == COMPANIES[0].inn
    for month in demo_months(now):
        period = f"{month.year:04d}-{month.month:02d}"
        for account in COMPANY_ACCOUNTS[inn]:
            await stub.RecordPayment(
                billing_pb2.RecordPaymentRequest(
                    payment_id=f"demo-{inn}-{account.key}-{period}",
                    company_id=company_id,
                    account_id=accounts[account.key],
                    amount=_rub(account.monthly_payment),
                    received_at=_stamp(month + timedelta(days=1)),
                    description="Оплата по счёту",
                ),
                metadata=operator,
                timeout=10,
            )
        await stub.ChargeSubscriptionFees(
            billing_pb2.ChargeSubscriptionFeesRequest(period=period, company_id=company_id),
            metadata=operator,
            timeout=120,
        )
        if with_usage:
            at = min(month + timedelta(days=14), now - timedelta(hours=1))
            usage_records += await _feed_usage(stub, operator, inn, period, at)
        advance(1)
    return f"payments and fees for {USAGE_MONTHS + 1} months, {usage_records} usage records"


async def _feed_usage(
    stub: pb_grpc.BillingOperatorServiceStub,
    operator: Metadata,
    inn: str,
    period: str,
    at: datetime,
) -> int:
    records = [
        billing_pb2.UsageRecord(
            record_id=f"demo-{number.msisdn}-{period}-{kind}",
            msisdn=number.msisdn,
            kind=kind,
            charge=_rub(kopecks),
            quantity=quantity,
            at=_stamp(at),
        )
        for number in COMPANY_NUMBERS[inn]
        for kind, kopecks, quantity in demo_usage(number.msisdn, period)
    ]

    async def stream() -> AsyncIterator[billing_pb2.IngestUsageRequest]:
        for start in range(0, len(records), USAGE_CHUNK):
            yield billing_pb2.IngestUsageRequest(records=records[start : start + USAGE_CHUNK])

    answer = await stub.IngestUsage(stream(), metadata=operator, timeout=300)
    if answer.rejected:
        raise RuntimeError(f"billing refused {answer.rejected} demo usage records")
    return len(records)
