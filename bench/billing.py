"""Billing's money: transfers per second through gRPC and through the gateway, beside the
raw rate of the same work's database core — a two-document transaction — on the same
database; and the usage feed's records per second.

In the demo system (Ромашка, its administrator), `CLIENTS` concurrent clients each send
transfers of one kopeck with a fresh Idempotency-Key for `duration` seconds:

- `many`: between `ACCOUNTS` accounts, each client its own pair (little contention);
- `hot`: all of them from one account to another (every transfer conflicts on the same
  two documents and is retried by the transaction helper).

The raw rate: the same clients each run `$inc` on two documents in one transaction
(`services.kit.mongo.Transactions`), over many pairs and over one hot pair. The target:
transfers through gRPC at least half the raw rate (a transfer also checks the caller,
its idempotency key, writes two entries, the transfer and its outbox event). Then one
operator stream of `USAGE_RECORDS` usage records for Ромашка's numbers.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from bench.loadgen import percentile
from bench.procs import CpuMeter, wait_until_quiet
from bench.web import LoadOptions, demo_admin_token, system_processes, whole_system
from tests.support.servers import MongoServer
from tests.support.system import RunningSystem

CLIENTS = 16
ACCOUNTS = 32
USAGE_RECORDS = 20_000
USAGE_CHUNK = 500
FUNDS = 1_000_000_000  # kopecks per account: never the limit during a run
Send = Callable[[int], Awaitable[bool]]


async def _load(send: Send, clients: int, duration: float) -> dict[str, Any]:
    """`clients` tasks calling `send(client)` for `duration` s: rate and latencies."""
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + duration

    async def client(n: int) -> None:
        nonlocal errors
        while time.monotonic() < stop_at:
            began = time.perf_counter()
            ok = await send(n)
            if ok:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1

    began = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    wall = time.monotonic() - began
    ms = sorted(1000 * value for value in latencies)
    return {
        "requests_per_s": len(latencies) / wall,
        "latency_ms": {"p50": percentile(ms, 0.5), "p99": percentile(ms, 0.99)},
        "errors": errors,
        "clients": clients,
    }


async def _accounts(system: RunningSystem, company_id: str, operator: Any) -> list[str]:
    from services.kit.grpc_client import open_channel
    from vm.billing.v1 import billing_pb2 as pb
    from vm.billing.v1 import billing_pb2_grpc as pb_grpc
    from vm.common.v1 import common_pb2

    made = []
    async with open_channel(system.settings.billing_addr) as channel:
        stub = pb_grpc.BillingOperatorServiceStub(channel)
        for n in range(ACCOUNTS):
            opened = await stub.OpenCompanyAccount(
                pb.OpenCompanyAccountRequest(company_id=company_id, name=f"Бенчмарк {n}"),
                metadata=operator,
                timeout=30,
            )
            await stub.RecordPayment(
                pb.RecordPaymentRequest(
                    payment_id=f"bench-{uuid.uuid4().hex}",
                    company_id=company_id,
                    account_id=opened.account.id,
                    amount=common_pb2.Money(amount=FUNDS, currency="RUB"),
                ),
                metadata=operator,
                timeout=30,
            )
            made.append(opened.account.id)
    return made


def _pair(accounts: list[str], client: int, hot: bool) -> tuple[str, str]:
    if hot:
        return accounts[0], accounts[1]
    return accounts[(2 * client) % len(accounts)], accounts[(2 * client + 1) % len(accounts)]


async def _grpc_transfers(
    system: RunningSystem, token: str, accounts: list[str], hot: bool, duration: float
) -> dict[str, Any]:
    import grpc

    from services.kit.grpc_client import open_channel
    from vm.billing.v1 import transfers_pb2 as pb
    from vm.billing.v1 import transfers_pb2_grpc as pb_grpc
    from vm.common.v1 import common_pb2

    metadata = (("authorization", f"Bearer {token}"),)
    async with open_channel(system.settings.billing_addr) as channel:
        stub = pb_grpc.TransferServiceStub(channel)

        async def send(client: int) -> bool:
            donor, recipient = _pair(accounts, client, hot)
            try:
                await stub.CreateTransfer(
                    pb.CreateTransferRequest(
                        idempotency_key=secrets.token_hex(12),
                        from_account_id=donor,
                        to_account_id=recipient,
                        amount=common_pb2.Money(amount=1, currency="RUB"),
                    ),
                    metadata=metadata,
                    timeout=30,
                )
            except grpc.aio.AioRpcError:
                return False
            return True

        return await _load(send, CLIENTS, duration)


async def _gateway_transfers(
    system: RunningSystem, token: str, accounts: list[str], hot: bool, duration: float
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30, limits=limits) as api:

        async def send(client: int) -> bool:
            donor, recipient = _pair(accounts, client, hot)
            response = await api.post(
                "/api/v1/transfers",
                headers={
                    "authorization": f"Bearer {token}",
                    "Idempotency-Key": secrets.token_hex(12),
                },
                json={
                    "from_account_id": donor,
                    "to_account_id": recipient,
                    "amount": {"amount": 1, "currency": "RUB"},
                },
            )
            return response.status_code == 201

        return await _load(send, CLIENTS, duration)


async def _raw_transactions(mongo_url: str, hot: bool, duration: float) -> dict[str, Any]:
    """Two `$inc`s in one transaction, as a transfer's balances are written."""
    from services.kit.mongo import Transactions, connect_mongo

    client = connect_mongo(mongo_url, app_name="bench-raw")
    db = client[f"bench_raw_{secrets.token_hex(3)}"]
    docs = db["pairs"]
    await docs.insert_many([{"_id": n, "balance": FUNDS} for n in range(ACCOUNTS)])
    transactions = Transactions(client)
    try:

        async def send(n: int) -> bool:
            a, b = (0, 1) if hot else ((2 * n) % ACCOUNTS, (2 * n + 1) % ACCOUNTS)

            async def work(session: Any) -> None:
                await docs.update_one({"_id": a}, {"$inc": {"balance": -1}}, session=session)
                await docs.update_one({"_id": b}, {"$inc": {"balance": 1}}, session=session)

            await transactions.run(work)
            return True

        return await _load(send, CLIENTS, duration)
    finally:
        await client.drop_database(db.name)
        await client.close()


async def _usage_feed(system: RunningSystem, operator: Any) -> dict[str, Any]:
    from google.protobuf.timestamp_pb2 import Timestamp

    from demo.data import ROMASHKA_NUMBERS
    from services.kit.grpc_client import open_channel
    from vm.billing.v1 import billing_pb2 as pb
    from vm.billing.v1 import billing_pb2_grpc as pb_grpc
    from vm.common.v1 import common_pb2

    stamp = Timestamp()
    stamp.GetCurrentTime()
    msisdns = [number.msisdn for number in ROMASHKA_NUMBERS]
    records = [
        pb.UsageRecord(
            record_id=f"bench-{uuid.uuid4().hex}",
            msisdn=msisdns[n % len(msisdns)],
            kind=("calls", "sms", "data")[n % 3],
            charge=common_pb2.Money(amount=1, currency="RUB"),
            quantity=1,
            at=stamp,
        )
        for n in range(USAGE_RECORDS)
    ]

    async def stream() -> Any:
        for start in range(0, len(records), USAGE_CHUNK):
            yield pb.IngestUsageRequest(records=records[start : start + USAGE_CHUNK])

    async with open_channel(system.settings.billing_addr) as channel:
        began = time.monotonic()
        answer = await pb_grpc.BillingOperatorServiceStub(channel).IngestUsage(
            stream(), metadata=operator, timeout=600
        )
        seconds = time.monotonic() - began
    return {
        "records": USAGE_RECORDS,
        "charged": answer.charged,
        "rejected": answer.rejected,
        "seconds": seconds,
        "records_per_s": answer.charged / seconds,
    }


def bench_billing(mongo: MongoServer, amqp_url: str, options: LoadOptions) -> dict[str, Any]:
    with whole_system(mongo, amqp_url) as system:
        return asyncio.run(_run(system, mongo, options))


async def _run(system: RunningSystem, mongo: MongoServer, options: LoadOptions) -> dict[str, Any]:
    token, _ = await demo_admin_token(system)
    async with httpx.AsyncClient(base_url=system.gateway_url, timeout=30) as api:
        me = await api.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
        me.raise_for_status()
    company_id = me.json()["company"]["id"]
    secret = system.settings.operator_token.get_secret_value()
    operator = (("authorization", f"Operator {secret}"),)
    accounts = await _accounts(system, company_id, operator)
    result: dict[str, Any] = {"clients": CLIENTS, "accounts": ACCOUNTS}
    for scenario, hot in (("many", False), ("hot", True)):
        runs: dict[str, Any] = {}
        for name, run in (
            ("raw", lambda hot=hot: _raw_transactions(mongo.url, hot, options.duration)),
            (
                "grpc",
                lambda hot=hot: _grpc_transfers(system, token, accounts, hot, options.duration),
            ),
            (
                "gateway",
                lambda hot=hot: _gateway_transfers(system, token, accounts, hot, options.duration),
            ),
        ):
            await asyncio.to_thread(wait_until_quiet, options.quiet_wait)
            meter = CpuMeter(system_processes(system, mongo))
            meter.start()
            runs[name] = await run()
            runs[name]["cpu_percent"] = meter.stop()
        runs["grpc_over_raw"] = runs["grpc"]["requests_per_s"] / runs["raw"]["requests_per_s"]
        runs["gateway_over_raw"] = runs["gateway"]["requests_per_s"] / runs["raw"]["requests_per_s"]
        result[scenario] = runs
    await asyncio.to_thread(wait_until_quiet, options.quiet_wait)
    result["usage"] = await _usage_feed(system, operator)
    return result
