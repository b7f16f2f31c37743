"""RabbitMQ restarts while billing's events flow: identity, catalog and billing run here
against a RabbitMQ node of this test's own (never the machine's shared broker). An
account's money runs out and comes back again and again — balance_exhausted and
balance_restored go through the outbox to catalog, which sets and lifts the financial
block — while the node is stopped and started. After recovery: the ledger reconciles,
every event left billing's outbox, and catalog applied each block change at most once and
ended where billing ended."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from itertools import pairwise

import grpc
import pytest
from pymongo import AsyncMongoClient

from services.billing import main as billing_main
from services.catalog import main as catalog_main
from services.catalog.consumers import BALANCE_EXHAUSTED, BALANCE_RESTORED
from services.identity import main as identity_main
from services.kit.runtime import ServiceRuntime
from services.kit.settings import Settings
from tests.e2e.test_billing import usage_record
from tests.e2e.test_catalog_catalogue import a_tariff
from tests.e2e.test_catalog_numbers import fresh_iccid, fresh_msisdn
from tests.integration.conftest import services_on
from tests.support.billing import Billing
from tests.support.kit import eventually, outbox_events
from tests.support.rabbitmq_node import RabbitNode, available
from tests.support.requisites import random_inn
from tests.support.servers import MongoServer
from vm.billing.v1 import billing_pb2 as bpb
from vm.billing.v1 import billing_pb2_grpc as bpb_grpc
from vm.catalog.v1 import numbers_pb2, numbers_pb2_grpc, tariffs_pb2, tariffs_pb2_grpc
from vm.common.v1 import common_pb2
from vm.identity.v1 import companies_pb2, companies_pb2_grpc

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not available(), reason="rabbitmq-server is not installed here"),
]

ROUNDS = 8
NUMBERS = 3


@pytest.fixture
async def services(
    mongo_server: MongoServer, own_broker: RabbitNode
) -> AsyncIterator[tuple[Settings, dict[str, ServiceRuntime]]]:
    async with services_on(
        mongo_server.url, own_broker, identity_main, catalog_main, billing_main
    ) as running:
        yield running


def operator(settings: Settings) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Operator {settings.operator_token.get_secret_value()}"),)


async def call(runtime: ServiceRuntime, stub_type, method: str, request, settings: Settings):
    async with grpc.aio.insecure_channel(f"127.0.0.1:{runtime.server.port}") as channel:
        return await getattr(stub_type(channel), method)(
            request, metadata=operator(settings), timeout=30
        )


async def until_accepted(work, what: str):
    """Calls `work` until the service has caught up with the events it needs."""
    for _ in range(300):
        try:
            return await work()
        except grpc.aio.AioRpcError as error:
            if error.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                raise
            await asyncio.sleep(0.1)
    raise AssertionError(f"{what} never happened")


async def test_blocks_follow_the_money_through_a_broker_restart(services, own_broker):
    settings, run = services
    suffix = f"{secrets.randbelow(10**9):09d}"
    company = (
        await call(
            run["identity"],
            companies_pb2_grpc.CompanyServiceStub,
            "CreateCompany",
            companies_pb2.CreateCompanyRequest(
                name=f"ООО Рестарт {suffix}",
                inn=random_inn(),
                contract_number=f"R-{suffix}",
                main_number=f"79{suffix}",
                contact_email=f"r{suffix}@test.example",
            ),
            settings,
        )
    ).company
    tariff = a_tariff(f"tariff_restart_{suffix}")
    await call(
        run["catalog"],
        tariffs_pb2_grpc.TariffAdminServiceStub,
        "DefineTariff",
        tariffs_pb2.DefineTariffRequest(tariff=tariff),
        settings,
    )
    msisdns = [fresh_msisdn() for _ in range(NUMBERS)]
    await until_accepted(
        lambda: call(
            run["catalog"],
            numbers_pb2_grpc.NumberAdminServiceStub,
            "AddNumbers",
            numbers_pb2.AddNumbersRequest(
                company_id=company.id,
                numbers=[
                    numbers_pb2.NewNumber(msisdn=m, iccid=fresh_iccid(), tariff_id=tariff.id)
                    for m in msisdns
                ],
            ),
            settings,
        ),
        "catalog knows the company",
    )
    account = (
        await until_accepted(
            lambda: call(
                run["billing"],
                bpb_grpc.BillingOperatorServiceStub,
                "OpenCompanyAccount",
                bpb.OpenCompanyAccountRequest(company_id=company.id),
                settings,
            ),
            "billing knows the company",
        )
    ).account

    async def billing(method: str, request):
        return await call(
            run["billing"], bpb_grpc.BillingOperatorServiceStub, method, request, settings
        )

    async def pay(amount: int) -> None:
        await billing(
            "RecordPayment",
            bpb.RecordPaymentRequest(
                payment_id=uuid.uuid4().hex,
                company_id=company.id,
                account_id=account.id,
                amount=common_pb2.Money(amount=amount, currency="RUB"),
            ),
        )

    async def charge(amount: int) -> int:
        async def records():
            yield bpb.IngestUsageRequest(records=[usage_record(msisdns[0], "calls", amount)])

        async with grpc.aio.insecure_channel(f"127.0.0.1:{run['billing'].server.port}") as ch:
            answer = await bpb_grpc.BillingOperatorServiceStub(ch).IngestUsage(
                records(), metadata=operator(settings), timeout=30
            )
        return answer.rejected

    await pay(10_000)

    async def numbers_billed() -> bool:
        accounts = await billing(
            "ListCompanyAccounts", bpb.ListCompanyAccountsRequest(company_id=company.id)
        )
        return accounts.accounts[0].number_count == NUMBERS

    await eventually(numbers_billed, timeout=30, what="billing has the numbers")

    restart = None
    for round_ in range(ROUNDS):
        assert await charge(10_000) == 0  # the balance at zero: exhausted
        await pay(10_000)  # restored
        if round_ == 2:  # while events flow: the broker goes away and comes back
            restart = asyncio.create_task(asyncio.to_thread(own_broker.restart))
        await asyncio.sleep(0.3)
    assert restart is not None
    await restart
    assert await charge(10_000) == 0  # ends exhausted: catalog must end blocked

    client = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    try:
        billing_db = client[settings.database_name("billing")]
        catalog_db = client[settings.database_name("catalog")]

        async def billing_outbox_empty() -> bool:
            return await billing_db["outbox"].count_documents({"sent_at": None}) == 0

        await eventually(billing_outbox_empty, timeout=120, interval=0.5, what="every event sent")

        # The end is when catalog has applied every one of billing's balance events and
        # its reconciler has no block of these numbers left queued. A number blocked
        # earlier is no end: after the restart the broker's backlog arrives late, and a
        # number may be blocked by one round while the next rounds' lift and block wait.
        balance_events = [
            e.id
            for e in await outbox_events(
                billing_db, {"type": {"$in": [BALANCE_EXHAUSTED, BALANCE_RESTORED]}}
            )
        ]

        async def catalog_done() -> bool:
            applied = await catalog_db["processed_events"].count_documents(
                {"_id": {"$in": balance_events}}
            )
            queued = await catalog_db["provisioning_intents"].count_documents(
                {"msisdn": {"$in": msisdns}, "state": "pending"}
            )
            return applied == len(balance_events) and queued == 0

        await eventually(catalog_done, timeout=120, interval=0.5, what="catalog caught up")
        found = await catalog_db["numbers"].find({"_id": {"$in": msisdns}}).to_list()
        assert len(found) == NUMBERS
        for number in found:  # billing's last word was "exhausted"
            assert [b["type"] for b in number["blocks"]] == ["financial"], number

        assert await Billing(None, billing_db).ledger_problems() == []  # type: ignore[arg-type]
        exhausted = len(await outbox_events(billing_db, {"type": BALANCE_EXHAUSTED}))
        restored = len(await outbox_events(billing_db, {"type": BALANCE_RESTORED}))
        assert (exhausted, restored) == (ROUNDS + 1, ROUNDS)
        # Each block set or lifted at most once per billing event, never twice in a row.
        changes: dict[str, list[str]] = {m: [] for m in msisdns}
        blocks = ["vm.catalog.number.blocked.v1", "vm.catalog.number.unblocked.v1"]
        for event in await outbox_events(catalog_db, {"type": {"$in": blocks}}):
            if event.data.get("block_type") == "financial":
                changes[event.data["msisdn"]].append(event.type.split(".")[3])
        for msisdn, seen in changes.items():
            ordered = seen and seen[-1] == "blocked" and all(a != b for a, b in pairwise(seen))
            assert ordered, (msisdn, seen, await _history(catalog_db, msisdn))
            assert Counter(seen)["blocked"] <= ROUNDS + 1
    finally:
        await client.close()


async def _history(catalog_db, msisdn: str) -> dict[str, list]:
    """What catalog did to the number, for a failure's message: its system blocks as
    queued (in the order they were wanted) and their events in the outbox (in the order
    written, with the moment each was made)."""
    intents = (
        await catalog_db["provisioning_intents"]
        .find({"msisdn": msisdn}, {"change": 1, "state": 1, "created_at": 1, "finished_at": 1})
        .sort("created_at", 1)
        .to_list()
    )
    events = [
        (event.type, event.time)
        for event in await outbox_events(catalog_db)
        if event.data.get("msisdn") == msisdn and event.data.get("block_type") == "financial"
    ]
    return {"intents": intents, "events": events}
