"""A money storm: thousands of money operations through the whole system while billing is
killed with SIGKILL and RabbitMQ is restarted, then everything reconciled from the
databases.

The system runs against a RabbitMQ node of the storm's own (never the machine's shared
broker: it is stopped and started). One company with `accounts` advance accounts, each
with its own numbers, funded by the operator. Then `clients` concurrent clients run `ops`
money operations between them, each picking an account and, from its balance, what to do:

- a transfer to or from another account (REST, Idempotency-Key): both directions;
- a payment (the operator's gRPC RecordPayment, a payment id): those to an exhausted
  account restore it;
- a promised payment (REST, Idempotency-Key), repaid by billing's own scheduler when its
  term ends: the storm's clock ends the term of each open one a few seconds after it is
  taken (it sets `due_at` in the past, as a week passing would);
- usage charges (the operator's usage stream, record ids) that often take more than the
  balance: the account is exhausted and its numbers must be blocked.

With `moves` (a share of the operations, off by default) clients also move numbers between
accounts, and the blocks must follow the numbers.

A client that gets no answer (a lost connection, 5xx, a deadline, a collision) tries again
with the same Idempotency-Key, payment id or record ids until it gets one. Meanwhile the
chaos task kills billing with SIGKILL (`billing_kills` times, restarting it each time) and
restarts the broker (`broker_restarts` times), spread over the run.

Afterwards, once the system has settled (polled with a deadline): every ledger entry sums
to zero, per posting and in all; every balance is its entries' sum and what the clients'
answers add up to; every transfer, payment, promised payment and usage record the clients
were told about is applied exactly once and nothing else is; each promised payment whose
term ended is repaid once; every event of billing and catalog was applied exactly once by
each consumer that takes it (identity's audit those of a company, catalog billing's
balance and account events, billing catalog's number events, documents the operations),
counted from their `processed_events` (identity's from its audit log, whose entries are
keyed by the event), and none was dead-lettered or left in a queue; an account is blocked
in billing, and its numbers carry catalog's financial block, exactly when its balance is
at or below zero. Every discrepancy is listed.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import aio_pika
import grpc
import httpx
from pymongo import AsyncMongoClient

from bench.report import Figure
from bench.web import whole_system
from services.billing import consumers as billing_consumers
from services.billing.domain.accounts import exhausted
from services.catalog import consumers as catalog_consumers
from services.kit.consumer import topic_matches
from services.kit.outbox import events_of
from services.kit.settings import SERVICE_NAMES
from tests.support.kit import outbox_events
from tests.support.rabbitmq_node import RabbitNode
from tests.support.servers import MongoServer
from tests.support.system import RunningSystem

DEFAULT_OPS = 10_000
CLIENTS = 16
ACCOUNTS = 8
NUMBERS_PER_ACCOUNT = 2
FUNDING = 200_000  # kopecks each account starts with
PROMISE_MAX = 50_000  # what a new account may be promised (billing's floor of the cap)
PROMISE_TERM_SECONDS = 2.0  # the storm's clock: a promise's week passes in this time
ANSWER_WAIT = 300.0  # a client gives up on one request after this long (a discrepancy)
SETTLE_SECONDS = 300.0
CALL_TIMEOUT = 30.0
PROGRESS_SECONDS = 30.0
PASSWORD = "Storm-Passw0rd!"

FINANCIAL = "financial"
# Which events each consumer takes (the types of its handlers, or a topic pattern), of those
# that billing and catalog write.
CONSUMERS: dict[str, tuple[str, ...]] = {
    "identity": ("vm.#",),  # the audit log
    "catalog": (
        catalog_consumers.BALANCE_EXHAUSTED,
        catalog_consumers.BALANCE_RESTORED,
        catalog_consumers.LIMIT_REACHED,
        catalog_consumers.LIMIT_RESET,
        catalog_consumers.NUMBER_ACCOUNT_CHANGED,
    ),
    "billing": (
        billing_consumers.NUMBER_ADDED,
        billing_consumers.NUMBER_MOVED,
        billing_consumers.MSISDN_REPLACED,
        billing_consumers.TARIFF_CHANGED,
        billing_consumers.SERVICE_CONNECTED,
        billing_consumers.SERVICE_DISCONNECTED,
        billing_consumers.TARIFF_DEFINED,
        billing_consumers.SERVICE_DEFINED,
        billing_consumers.NODE_CREATED,
        billing_consumers.NODE_CHANGED,
        billing_consumers.NODE_DELETED,
        billing_consumers.LIMIT_REACHED,
    ),
    "documents": ("vm.*.operation.updated.v1",),  # the operations journal
}

# Where a consumer's record of what it applied is: its markers in `processed_events`, but
# identity's audit log is keyed by the event and takes no marker, so its entries are its
# record; only an event of a company has an entry.
AUDIT_RECORDS = {"identity": "audit_events"}


def applies(consumer: str, kind: str, company_id: str) -> bool:
    """Whether `consumer` keeps a record of an event of this type (and company)."""
    if consumer in AUDIT_RECORDS and not company_id:
        return False
    return any(topic_matches(pattern, kind) for pattern in CONSUMERS[consumer])


def record_of(consumer: str) -> str:
    return AUDIT_RECORDS.get(consumer, "processed_events")


RETRIED_GRPC = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.CANCELLED,
}


@dataclass(frozen=True)
class StormOptions:
    ops: int = DEFAULT_OPS
    clients: int = CLIENTS
    accounts: int = ACCOUNTS
    billing_kills: int = 2
    broker_restarts: int = 1
    settle_seconds: float = SETTLE_SECONDS
    seed: int | None = None
    # The share of operations that move a number to another account (off by default: the
    # storm is about money; on, it also checks that blocks follow numbers that move).
    moves: float = 0.0


@dataclass
class Told:
    """What the clients were told: the only truth the reconciliation trusts besides the
    ledger's own rules."""

    transfers: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → answer
    refused_transfers: dict[str, str] = field(default_factory=dict)  # key → code
    payments: dict[str, tuple[str, int]] = field(default_factory=dict)  # id → account, amount
    promises: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → answer
    refused_promises: dict[str, str] = field(default_factory=dict)
    usage: dict[str, tuple[str, int]] = field(default_factory=dict)  # record → account, kop.


class NoAnswer(Exception):
    """A request that got no answer within ANSWER_WAIT."""


@dataclass
class Company:
    id: str
    main_number: str
    accounts: list[str]
    numbers: dict[str, list[str]]  # account → its msisdns


class Storm:
    def __init__(
        self,
        system: RunningSystem,
        broker: RabbitNode,
        options: StormOptions,
        say: Callable[[str], None],
    ) -> None:
        self.system = system
        self.broker = broker
        self.options = options
        self.say = say
        self.random = random.Random(options.seed)
        self.told = Told()
        self.discrepancies: list[str] = []
        # Each outbox document's events (id, type, company), decoded once.
        self.events_in: dict[object, list[tuple[str, str, str]]] = {}
        self.ops_by_kind: Counter[str] = Counter()
        self.refusals: Counter[str] = Counter()
        self.retries = 0
        self.retried_operations = 0
        self.in_use: Counter[str] = Counter()  # numbers whose usage is being charged
        self.moving: set[str] = set()  # numbers being moved to another account
        self.issued = 0
        self.kills = 0
        self.restarts = 0
        self.chaos_log: list[str] = []
        self.token = ""
        self.company_id = ""
        self.company: Company
        self._token_lock = asyncio.Lock()
        operator = system.settings.operator_token.get_secret_value()
        self.operator = (("authorization", f"Operator {operator}"),)

    # ------------------------------------------------------------------ the run

    async def run(self) -> dict[str, Any]:
        from services.kit.grpc_client import open_channel
        from vm.billing.v1 import billing_pb2_grpc

        settings = self.system.settings
        self.mongo = AsyncMongoClient(settings.mongo_url, tz_aware=True)
        self.billing_db = self.mongo[settings.database_name("billing")]
        self.catalog_db = self.mongo[settings.database_name("catalog")]
        limits = httpx.Limits(
            max_connections=self.options.clients * 2,
            max_keepalive_connections=self.options.clients * 2,
        )
        try:
            async with (
                httpx.AsyncClient(
                    base_url=self.system.gateway_url, timeout=CALL_TIMEOUT, limits=limits
                ) as self.api,
                open_channel(settings.billing_addr) as channel,
            ):
                self.billing = billing_pb2_grpc.BillingOperatorServiceStub(channel)
                began = time.monotonic()
                self.company = await self.set_up()
                set_up = time.monotonic() - began
                self.say(
                    f"set up: {len(self.company.accounts)} accounts, "
                    f"{sum(map(len, self.company.numbers.values()))} numbers in {set_up:.0f} s"
                )
                stormed = await self.storm()
                began = time.monotonic()
                settled = await self.settle()
                settle_seconds = time.monotonic() - began
                figures = await self.reconcile()
        finally:
            await self.mongo.close()
        return {
            "operations": sum(self.ops_by_kind.values()),
            "by_kind": dict(self.ops_by_kind),
            "refused": dict(self.refusals),
            "clients": self.options.clients,
            "accounts": self.options.accounts,
            "billing_kills": self.kills,
            "broker_restarts": self.restarts,
            "chaos": self.chaos_log,
            "retries": self.retries,
            "retried_operations": self.retried_operations,
            "seconds": round(stormed, 1),
            "operations_per_s": round(sum(self.ops_by_kind.values()) / stormed, 1),
            "settled": settled,
            "settle_seconds": round(settle_seconds, 1),
            "setup_seconds": round(set_up, 1),
            **figures,
            "discrepancies": self.discrepancies,
            "log_dir": str(self.system.log_dir),
        }

    async def storm(self) -> float:
        began = time.monotonic()
        done = asyncio.Event()
        clock = asyncio.create_task(self.clock(done))
        chaos = asyncio.create_task(self.chaos())
        progress = asyncio.create_task(self.progress(began))
        try:
            await asyncio.gather(*(self.client() for _ in range(self.options.clients)))
            await chaos  # an action still under way ends before the storm does
        finally:
            chaos.cancel()
            progress.cancel()
            done.set()
            await clock
        return time.monotonic() - began

    async def progress(self, began: float) -> None:
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            done = sum(self.ops_by_kind.values())
            self.say(
                f"{time.monotonic() - began:.0f} s: {done:,} of {self.options.ops:,} "
                f"operations answered, {self.retries:,} retries"
            )

    # ------------------------------------------------------------------ set-up

    async def set_up(self) -> Company:
        from tests.e2e.conftest import new_company
        from tests.e2e.test_billing import open_account
        from tests.e2e.test_catalog_numbers import give_numbers
        from tests.e2e.test_identity_flows import register

        async with grpc.aio.insecure_channel(self.system.settings.identity_addr) as channel:
            made = await new_company(self.system, channel)
        self.company_id = made.id
        tokens = await register(self.api, made, PASSWORD)
        self.token = tokens["access_token"]
        accounts = [await open_account(self.system, made.id) for _ in range(self.options.accounts)]
        count = self.options.accounts * NUMBERS_PER_ACCOUNT
        msisdns = await give_numbers(self.system, made.id, [""] * count)
        numbers = {
            account: msisdns[n * NUMBERS_PER_ACCOUNT : (n + 1) * NUMBERS_PER_ACCOUNT]
            for n, account in enumerate(accounts)
        }
        # New numbers go to the company's first account; the rest are moved to their own.
        for account, mine in numbers.items():
            for msisdn in mine:
                if account != accounts[0]:
                    await self.move_number(msisdn, account)
        for account in accounts:
            await self.payment(account, FUNDING, counted=False)
        return Company(made.id, made.main_number, accounts, numbers)

    async def move_number(self, msisdn: str, account: str) -> None:
        deadline = time.monotonic() + 60
        while True:  # billing learns of the number from catalog's event
            response = await self.api.put(
                f"/api/v1/numbers/{msisdn}/account",
                headers=self.auth(),
                json={"account_id": account},
            )
            if response.status_code == 200:
                return
            if response.status_code != 404 or time.monotonic() > deadline:
                raise RuntimeError(f"moving {msisdn}: {response.status_code} {response.text}")
            await asyncio.sleep(0.2)

    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}

    async def log_in_again(self, stale: str) -> None:
        """An access token that expired during a long storm: the client logs in again."""
        async with self._token_lock:
            if self.token != stale:
                return
            response = await self.api.post(
                "/api/v1/auth/login",
                json={"login": self.company.main_number, "password": PASSWORD},
            )
            if response.status_code == 200:
                self.token = response.json()["access_token"]

    # ------------------------------------------------------------------ the clients

    def take(self) -> bool:
        if self.issued >= self.options.ops:
            return False
        self.issued += 1
        return True

    async def client(self) -> None:
        while self.take():
            try:
                await self.operation()
            except NoAnswer as lost:
                self.discrepancies.append(str(lost))

    async def balance(self, account: str) -> int:
        doc = await self.billing_db["accounts"].find_one({"_id": account}, {"balance": 1})
        return int(doc["balance"]) if doc else 0

    async def operation(self) -> None:
        accounts = self.company.accounts
        account = self.random.choice(accounts)
        other = self.random.choice([a for a in accounts if a != account])
        balance = await self.balance(account)
        if self.random.random() < self.options.moves and await self.move(account, other):
            return
        pick = self.random.random()
        if balance > 0:
            if pick < 0.35:
                amount = self.random.randint(1, max(1, balance * 2 // 3))
                await self.transfer(account, other, amount)
            elif pick < 0.50:
                await self.transfer(other, account, self.random.randint(100, 30_000))
            elif pick < 0.80:  # usage that most often takes more than the balance
                over = self.random.random() < 0.6
                charge = balance + self.random.randint(0, 3_000) if over else None
                await self.usage(account, charge or self.random.randint(100, 5_000))
            elif pick < 0.93:
                await self.payment(account, self.random.randint(1_000, 20_000))
            else:
                await self.promise(account, self.random.randint(1_000, PROMISE_MAX))
        elif pick < 0.35:  # a payment that restores the account
            await self.payment(account, -balance + self.random.randint(1_000, 50_000))
        elif pick < 0.60:
            await self.transfer(other, account, self.random.randint(1_000, 40_000))
        elif pick < 0.85:
            await self.promise(account, self.random.randint(1_000, PROMISE_MAX))
        else:
            await self.usage(account, self.random.randint(100, 3_000))

    async def answered(self, what: str, attempt: Callable[[], Awaitable[Any]]) -> Any:
        """`attempt` again and again (the same request) until it answers (not None)."""
        give_up = time.monotonic() + ANSWER_WAIT
        tries = 0
        while True:
            tries += 1
            answer = await attempt()
            if answer is not None:
                self.retries += tries - 1
                self.retried_operations += tries > 1
                return answer
            if time.monotonic() > give_up:
                self.retries += tries - 1
                raise NoAnswer(f"{what}: no answer after {tries} tries in {ANSWER_WAIT:.0f} s")
            await asyncio.sleep(self.random.uniform(0.05, min(2.0, 0.1 * 2 ** min(tries, 5))))

    async def rest(self, path: str, key: str, body: dict[str, Any]) -> Any:
        """One POST with an Idempotency-Key: (status, body), or None to try again."""
        token = self.token
        try:
            response = await self.api.post(
                path,
                headers={"authorization": f"Bearer {token}", "Idempotency-Key": key},
                json=body,
            )
        except httpx.HTTPError:
            return None  # the answer was lost
        if response.status_code == 401:
            await self.log_in_again(token)
            return None
        if response.status_code >= 500 or response.status_code == 429:
            return None
        answer = response.json()
        if response.status_code == 409 and answer.get("code") == "conflict":
            return None  # it collided with another request: try again
        return response.status_code, answer

    async def transfer(self, donor: str, recipient: str, amount: int) -> None:
        key = uuid.uuid4().hex
        body = {
            "from_account_id": donor,
            "to_account_id": recipient,
            "amount": {"amount": amount, "currency": "RUB"},
        }
        status, answer = await self.answered(
            f"transfer {key}", lambda: self.rest("/api/v1/transfers", key, body)
        )
        self.ops_by_kind["transfer"] += 1
        if status == 201:
            self.told.transfers[key] = {
                "id": answer["id"],
                "from": donor,
                "to": recipient,
                "amount": amount,
            }
            if (answer["from_account_id"], answer["to_account_id"]) != (donor, recipient) or (
                answer["amount"]["amount"] != amount
            ):
                self.discrepancies.append(f"transfer {key} answered another transfer: {answer}")
        elif status == 409 and answer.get("code") == "insufficient_funds":
            self.told.refused_transfers[key] = answer["code"]
            self.refusals["transfer: insufficient_funds"] += 1
        else:
            self.discrepancies.append(f"transfer {key}: unexpected answer {status} {answer}")

    async def promise(self, account: str, amount: int) -> None:
        key = uuid.uuid4().hex
        body = {"amount": {"amount": amount, "currency": "RUB"}}
        path = f"/api/v1/accounts/{account}/promised-payments"
        status, answer = await self.answered(
            f"promised payment {key}", lambda: self.rest(path, key, body)
        )
        self.ops_by_kind["promised payment"] += 1
        if status == 201:
            self.told.promises[key] = {"id": answer["id"], "account": account, "amount": amount}
        elif status == 409 and answer.get("code") == "not_allowed":
            self.told.refused_promises[key] = answer.get("reason", "")
            self.refusals[f"promised payment: {answer.get('reason', 'not_allowed')}"] += 1
        else:
            self.discrepancies.append(f"promised payment {key}: unexpected {status} {answer}")

    async def move(self, account: str, other: str) -> bool:
        """One of the account's numbers (it keeps one at least) to the other account; False
        when none may move now."""
        mine = self.company.numbers[account]
        free = [m for m in mine if not self.in_use[m] and m not in self.moving]
        if len(mine) < 2 or not free:
            return False
        msisdn = self.random.choice(free)
        self.moving.add(msisdn)
        try:
            status, answer = await self.answered(
                f"move {msisdn}", lambda: self.put_account(msisdn, other)
            )
        finally:
            self.moving.discard(msisdn)
        self.ops_by_kind["number moved"] += 1
        # Answered "already there": an attempt whose answer was lost had moved it.
        if status == 200 or answer.get("reason") == "same_account":
            mine.remove(msisdn)
            self.company.numbers[other].append(msisdn)
        else:
            self.discrepancies.append(f"move {msisdn}: unexpected answer {status} {answer}")
        return True

    async def put_account(self, msisdn: str, account: str) -> Any:
        token = self.token
        try:
            response = await self.api.put(
                f"/api/v1/numbers/{msisdn}/account",
                headers={"authorization": f"Bearer {token}"},
                json={"account_id": account},
            )
        except httpx.HTTPError:
            return None
        if response.status_code == 401:
            await self.log_in_again(token)
            return None
        if response.status_code >= 500 or response.status_code == 429:
            return None
        answer = response.json()
        if response.status_code == 409 and answer.get("code") == "conflict":
            return None
        return response.status_code, answer

    async def grpc_call(self, call: Callable[[], Awaitable[Any]]) -> Any:
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if error.code() in RETRIED_GRPC:
                return None
            return error

    async def payment(self, account: str, amount: int, counted: bool = True) -> None:
        from vm.billing.v1 import billing_pb2 as pb
        from vm.common.v1 import common_pb2

        payment_id = f"storm-{uuid.uuid4().hex}"
        request = pb.RecordPaymentRequest(
            payment_id=payment_id,
            company_id=self.company_id,
            account_id=account,
            amount=common_pb2.Money(amount=amount, currency="RUB"),
        )
        answer = await self.answered(
            f"payment {payment_id}",
            lambda: self.grpc_call(
                lambda: self.billing.RecordPayment(
                    request, metadata=self.operator, timeout=CALL_TIMEOUT
                )
            ),
        )
        if counted:
            self.ops_by_kind["payment"] += 1
        if isinstance(answer, grpc.aio.AioRpcError):
            self.discrepancies.append(f"payment {payment_id}: refused {answer.code().name}")
            return
        self.told.payments[payment_id] = (account, amount)

    async def usage(self, account: str, total: int) -> None:
        from google.protobuf.timestamp_pb2 import Timestamp

        from vm.billing.v1 import billing_pb2 as pb
        from vm.common.v1 import common_pb2

        numbers = [m for m in self.company.numbers[account] if m not in self.moving]
        if not numbers:
            return await self.payment(account, total)
        parts = self.random.randint(1, 3)
        charges = [total // parts] * parts
        charges[0] += total - sum(charges)
        stamp = Timestamp()
        stamp.GetCurrentTime()
        records = [
            pb.UsageRecord(
                record_id=f"storm-{uuid.uuid4().hex}",
                msisdn=self.random.choice(numbers),
                kind=self.random.choice(("calls", "sms", "data")),
                charge=common_pb2.Money(amount=charge, currency="RUB"),
                quantity=1,
                at=stamp,
            )
            for charge in charges
            if charge > 0
        ]

        async def stream() -> Any:
            yield pb.IngestUsageRequest(records=records)

        used = [record.msisdn for record in records]
        self.in_use.update(used)  # not moved while its records are charged
        try:
            answer = await self.answered(
                f"usage {records[0].record_id}",
                lambda: self.grpc_call(
                    lambda: self.billing.IngestUsage(
                        stream(), metadata=self.operator, timeout=CALL_TIMEOUT
                    )
                ),
            )
        finally:
            self.in_use.subtract(used)
        self.ops_by_kind["usage"] += 1
        if isinstance(answer, grpc.aio.AioRpcError):
            self.discrepancies.append(f"usage {records[0].record_id}: refused {answer.code()}")
            return
        if answer.rejected or answer.charged + answer.duplicates != len(records):
            self.discrepancies.append(
                f"usage {records[0].record_id}: {len(records)} records, charged "
                f"{answer.charged}, duplicates {answer.duplicates}, rejected {answer.rejected}"
            )
        for record in records:
            self.told.usage[record.record_id] = (account, record.charge.amount)

    # ------------------------------------------------------------------ clock and chaos

    async def clock(self, done: asyncio.Event) -> None:
        """A promised payment's term ends PROMISE_TERM_SECONDS after it was taken (as if
        a week had passed); billing's scheduler repays it."""
        promises = self.billing_db["promised_payments"]
        while True:
            now = datetime.now(UTC)
            try:
                await promises.update_many(
                    {
                        "status": "open",
                        "created_at": {"$lt": now - timedelta(seconds=PROMISE_TERM_SECONDS)},
                        "due_at": {"$gt": now},
                    },
                    {"$set": {"due_at": now - timedelta(seconds=1)}},
                )
            except Exception as error:  # a write conflict with a repayment: next tick
                self.say(f"clock: {type(error).__name__}")
            if done.is_set():
                return
            try:
                await asyncio.wait_for(done.wait(), timeout=1.0)
            except TimeoutError:
                continue

    def schedule(self) -> list[tuple[int, str]]:
        """The chaos actions, spread evenly over the run by operations issued: kills and
        restarts alternating (kill, restart, kill, …)."""
        kills, restarts = self.options.billing_kills, self.options.broker_restarts
        actions: list[str] = []
        while kills or restarts:
            if kills:
                actions.append("kill billing")
                kills -= 1
            if restarts:
                actions.append("restart broker")
                restarts -= 1
        total = len(actions)
        return [
            (self.options.ops * (n + 1) // (total + 1), action) for n, action in enumerate(actions)
        ]

    async def chaos(self) -> None:
        for at, action in self.schedule():
            while self.issued < at:  # noqa: ASYNC110 (the clients' counter, polled)
                await asyncio.sleep(0.05)
            began = time.monotonic()
            if action == "kill billing":
                await self.kill_billing()
                self.kills += 1
            else:
                await asyncio.to_thread(self.broker.restart)
                self.restarts += 1
            line = f"{action} at operation {self.issued}: back in {time.monotonic() - began:.1f} s"
            self.chaos_log.append(line)
            self.say(line)

    async def kill_billing(self) -> None:
        await asyncio.to_thread(self.system.stop_process, "billing", signal.SIGKILL)
        await asyncio.sleep(self.random.uniform(0.5, 2.0))  # clients meet a dead billing
        self.system.start_process("billing", "services.billing")
        await asyncio.to_thread(self.system.wait_healthy)

    # ------------------------------------------------------------------ settling

    async def settle(self) -> bool:
        """Polls (with a deadline) until the system has done what the storm caused: every
        event published and consumed, every due promise repaid, catalog's blocks where
        billing's are."""
        deadline = time.monotonic() + self.options.settle_seconds
        last: list[str] = []
        while time.monotonic() < deadline:
            last = await self.unsettled()
            if not last:
                return True
            await asyncio.sleep(0.5)
        self.say(f"not settled after {self.options.settle_seconds:.0f} s: {'; '.join(last)}")
        return False

    async def unsettled(self) -> list[str]:
        waiting: list[str] = []
        for name, db in (("billing", self.billing_db), ("catalog", self.catalog_db)):
            pending = await db["outbox"].count_documents({"sent_at": None})
            if pending:
                waiting.append(f"{pending} events in {name}'s outbox")
        due = await self.billing_db["promised_payments"].count_documents(
            {"status": "open", "due_at": {"$lt": datetime.now(UTC)}}
        )
        if due:
            waiting.append(f"{due} due promised payments")
        events = [
            *await self.outbox_events(self.billing_db),
            *await self.outbox_events(self.catalog_db),
        ]
        for consumer in CONSUMERS:
            db = self.mongo[self.system.settings.database_name(consumer)]
            applied = await self.type_counts(db[record_of(consumer)])
            written = Counter(
                kind for _, kind, company in events if applies(consumer, kind, company)
            )
            for kind, count in written.items():
                if applied.get(kind, 0) < count:
                    waiting.append(f"{consumer}: {kind} {applied.get(kind, 0)}/{count}")
        waiting += await self.block_problems()
        return waiting

    @staticmethod
    async def type_counts(collection: Any) -> dict[str, int]:
        found = await collection.aggregate([{"$group": {"_id": "$type", "n": {"$sum": 1}}}])
        return {doc["_id"]: doc["n"] async for doc in found}

    async def block_problems(self) -> list[str]:
        """An account blocked in billing, and its numbers blocked in catalog, exactly when
        its balance is at or below zero."""
        problems: list[str] = []
        billed = {
            doc["_id"]: doc.get("account_id", "")
            async for doc in self.billing_db["billing_numbers"].find(
                {"company_id": self.company.id}
            )
        }
        blocks = {
            doc["_id"]: {b["type"] for b in doc.get("blocks", [])}
            async for doc in self.catalog_db["numbers"].find({"company_id": self.company.id})
        }
        async for account in self.billing_db["accounts"].find({"company_id": self.company.id}):
            out = exhausted(
                account["settlement_method"], account["balance"], account.get("credit_limit", 0)
            )
            if account.get("blocked", False) != out:
                problems.append(
                    f"account {account['_id']} balance {account['balance']}: billing's block "
                    f"flag is {account.get('blocked', False)}"
                )
            for msisdn, billed_to in billed.items():
                if billed_to != account["_id"]:
                    continue
                if (FINANCIAL in blocks.get(msisdn, set())) != out:
                    problems.append(
                        f"number {msisdn} of account {account['_id']} (balance "
                        f"{account['balance']}): financial block "
                        f"{'missing' if out else 'set'} in catalog"
                    )
        for account, mine in self.company.numbers.items():
            for msisdn in mine:
                if billed.get(msisdn) != account:
                    problems.append(f"number {msisdn} billed to {billed.get(msisdn)!r}")
        return problems

    # ------------------------------------------------------------------ reconciliation

    async def reconcile(self) -> dict[str, Any]:
        from tests.support.billing import Billing

        found = self.discrepancies
        found += await Billing(None, self.billing_db).ledger_problems()  # type: ignore[arg-type]
        entries = await self.billing_db["entries"].find({}).to_list()
        by_ref: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in entries:
            by_ref[entry["ref"]].append(entry)
        await self.check_transfers(by_ref)
        await self.check_payments(by_ref)
        await self.check_promises(by_ref)
        await self.check_usage(entries)
        await self.check_balances()
        events = await self.check_events()
        found += await self.block_problems()
        found += await self.dead_letters()
        return {
            "ledger_entries": len(entries),
            "transfers_applied": len(self.told.transfers),
            "payments_applied": len(self.told.payments),
            "promised_payments": len(self.told.promises),
            "usage_records": len(self.told.usage),
            "events": events,
        }

    def postings_of(
        self, by_ref: dict[str, list[dict[str, Any]]], ref: str, kind: str
    ) -> dict[str, list[dict[str, Any]]]:
        postings: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for entry in by_ref.get(ref, []):
            if entry["kind"] == kind:
                postings[entry["posting_id"]].append(entry)
        return postings

    async def check_transfers(self, by_ref: dict[str, list[dict[str, Any]]]) -> None:
        found = self.discrepancies
        company = self.company.id
        transfers = {
            doc["_id"]: doc
            async for doc in self.billing_db["transfers"].find({"company_id": company})
        }
        keys = {
            doc["_id"].split(":", 2)[2]: doc["result_id"]
            async for doc in self.billing_db["idempotency_keys"].find(
                {"_id": {"$regex": f"^{re.escape(company)}:transfer:"}}
            )
        }
        told_ids = {told["id"] for told in self.told.transfers.values()}
        for key, told in self.told.transfers.items():
            if keys.get(key) != told["id"]:
                found.append(f"transfer key {key}: recorded {keys.get(key)}, told {told['id']}")
            doc = transfers.get(told["id"])
            if doc is None:
                found.append(f"transfer {told['id']} told succeeded is not in the database")
                continue
            if (doc["from_account_id"], doc["to_account_id"], doc["amount"]) != (
                told["from"],
                told["to"],
                told["amount"],
            ):
                found.append(f"transfer {told['id']} differs from what was asked")
            postings = self.postings_of(by_ref, told["id"], "transfer")
            lines = sorted((e["account_id"], e["amount"]) for p in postings.values() for e in p)
            wanted = sorted([(told["from"], -told["amount"]), (told["to"], told["amount"])])
            if len(postings) != 1 or lines != wanted:
                found.append(f"transfer {told['id']} applied {len(postings)} times: {lines}")
        for key in self.told.refused_transfers:
            if key in keys:
                found.append(f"transfer key {key} refused but recorded as {keys[key]}")
        for transfer_id in set(transfers) - told_ids:
            found.append(f"transfer {transfer_id} applied but no client was told of it")

    async def check_payments(self, by_ref: dict[str, list[dict[str, Any]]]) -> None:
        found = self.discrepancies
        payments = {
            doc["_id"]: doc
            async for doc in self.billing_db["payments"].find({"company_id": self.company.id})
        }
        for payment_id, (account, amount) in self.told.payments.items():
            doc = payments.get(payment_id)
            if doc is None or (doc["account_id"], doc["amount"]) != (account, amount):
                found.append(f"payment {payment_id}: recorded {doc}, told ({account}, {amount})")
            postings = self.postings_of(by_ref, payment_id, "payment")
            lines = [(e["account_id"], e["amount"]) for p in postings.values() for e in p]
            if len(postings) != 1 or (account, amount) not in lines:
                found.append(f"payment {payment_id} applied {len(postings)} times: {lines}")
        for payment_id in set(payments) - set(self.told.payments):
            found.append(f"payment {payment_id} recorded but no client was told of it")

    async def check_promises(self, by_ref: dict[str, list[dict[str, Any]]]) -> None:
        found = self.discrepancies
        company = self.company.id
        promises = {
            doc["_id"]: doc
            async for doc in self.billing_db["promised_payments"].find({"company_id": company})
        }
        told_ids = {told["id"] for told in self.told.promises.values()}
        now = datetime.now(UTC)
        for key, told in self.told.promises.items():
            doc = promises.get(told["id"])
            if doc is None:
                found.append(f"promised payment {told['id']} (key {key}) is not in the database")
                continue
            taken = self.postings_of(by_ref, told["id"], "promised_payment")
            repaid = self.postings_of(by_ref, told["id"], "promised_payment_repayment")
            if len(taken) != 1:
                found.append(f"promised payment {told['id']} booked {len(taken)} times")
            wanted_repayments = 1 if doc["status"] == "repaid" else 0
            if len(repaid) != wanted_repayments:
                found.append(
                    f"promised payment {told['id']} ({doc['status']}) repaid {len(repaid)} times"
                )
            if doc["status"] == "open" and doc["due_at"] < now:
                found.append(f"promised payment {told['id']} is due and not repaid")
        for promise_id in set(promises) - told_ids:
            found.append(f"promised payment {promise_id} taken but no client was told of it")

    async def check_usage(self, entries: list[dict[str, Any]]) -> None:
        found = self.discrepancies
        records = {
            doc["_id"]: doc
            async for doc in self.billing_db["usage_records"].find({"company_id": self.company.id})
        }
        for record_id, (account, charge) in self.told.usage.items():
            doc = records.get(record_id)
            if doc is None or (doc["account_id"], doc["charge"]) != (account, charge):
                found.append(f"usage record {record_id}: stored {doc}, sent ({account}, {charge})")
        for record_id in set(records) - set(self.told.usage):
            found.append(f"usage record {record_id} stored but never sent")
        charged: Counter[str] = Counter()
        for entry in entries:
            if entry["kind"] == "usage" and entry["company_id"] == self.company.id:
                charged[entry["account_id"]] -= entry["amount"]
        sent: Counter[str] = Counter()
        for account, charge in self.told.usage.values():
            sent[account] += charge
        for account in self.company.accounts:
            if charged[account] != sent[account]:
                found.append(
                    f"account {account}: usage charged {charged[account]}, sent {sent[account]}"
                )

    async def check_balances(self) -> None:
        """Each balance is what the clients' answers add up to."""
        expected: Counter[str] = Counter()
        for account, amount in self.told.payments.values():
            expected[account] += amount
        for told in self.told.transfers.values():
            expected[told["from"]] -= told["amount"]
            expected[told["to"]] += told["amount"]
        for account, charge in self.told.usage.values():
            expected[account] -= charge
        promises = {
            doc["_id"]: doc["status"]
            async for doc in self.billing_db["promised_payments"].find(
                {"company_id": self.company.id}
            )
        }
        for told in self.told.promises.values():
            if promises.get(told["id"]) == "open":
                expected[told["account"]] += told["amount"]
        for account in self.company.accounts:
            balance = await self.balance(account)
            if balance != expected[account]:
                self.discrepancies.append(
                    f"account {account}: balance {balance}, the answers add up to "
                    f"{expected[account]}"
                )

    async def check_events(self) -> dict[str, Any]:
        """Every event billing and catalog wrote was applied once by each consumer that
        takes it (its handlers' types: identity's audit takes every event of a company),
        counted from the consumers' `processed_events` (identity's: its audit log)."""
        found = self.discrepancies
        written = {
            "billing": await self.outbox_events(self.billing_db),
            "catalog": await self.outbox_events(self.catalog_db),
        }
        seen = {
            consumer: await self.processed(
                self.mongo[self.system.settings.database_name(consumer)][record_of(consumer)]
            )
            for consumer in CONSUMERS
        }
        counts: dict[str, dict[str, int]] = {}
        for producer, events in written.items():
            repeats = [
                event_id for event_id, n in Counter(e for e, _, _ in events).items() if n > 1
            ]
            for event_id in repeats:
                found.append(f"{producer} wrote event {event_id} more than once")
            for event_id, kind, company in events:
                row = counts.setdefault(f"{producer} {kind}", Counter())
                row["written"] += 1
                for consumer in CONSUMERS:
                    if not applies(consumer, kind, company):
                        continue
                    if event_id in seen[consumer]:
                        row[f"applied by {consumer}"] += 1
                    else:
                        found.append(f"{consumer} never applied {kind} {event_id}")
        found += await self.block_sequences()
        return {name: dict(row) for name, row in sorted(counts.items())}

    async def outbox_events(self, db: Any) -> list[tuple[str, str, str]]:
        """Each event written: its id, type and company (the settling loop asks every half
        second, so an event's body is decoded the first time only)."""
        events = []
        async for doc in db["outbox"].find({}, {"event_id": 1, "event_ids": 1, "body": 1}):
            if doc["_id"] not in self.events_in:  # a run of one type is one document
                self.events_in[doc["_id"]] = [
                    (e.id, e.type, e.company_id or "") for e in events_of(doc)
                ]
            events += self.events_in[doc["_id"]]
        return events

    async def processed(self, record: Any) -> set[str]:
        return {doc["_id"] async for doc in record.find({}, {"_id": 1})}

    async def block_sequences(self) -> list[str]:
        """Catalog set and lifted each number's financial block in turn: never twice in a
        row (a balance event applied twice would)."""
        wanted = {"vm.catalog.number.blocked.v1", "vm.catalog.number.unblocked.v1"}
        changes: dict[str, list[str]] = defaultdict(list)
        written = await outbox_events(self.catalog_db, {"type": {"$in": sorted(wanted)}})
        for event in written:  # in the order of their time
            if event.data.get("block_type") == FINANCIAL:
                changes[event.data["msisdn"]].append(event.type.split(".")[3])
        return [
            f"number {msisdn}: financial block changes {seen} repeat"
            for msisdn, seen in changes.items()
            if any(a == b for a, b in pairwise(seen))
        ]

    async def dead_letters(self) -> list[str]:
        prefix = self.system.settings.amqp_prefix
        problems = []
        connection = await aio_pika.connect(self.broker.url)
        async with connection:
            channel = await connection.channel()
            for service in SERVICE_NAMES:
                for name in (f"{prefix}{service}.events", f"{prefix}{service}.events.dlq"):
                    try:
                        queue = await channel.declare_queue(name, passive=True)
                    except aio_pika.exceptions.ChannelNotFoundEntity:
                        channel = await connection.channel()
                        continue
                    count = queue.declaration_result.message_count or 0
                    if count:
                        problems.append(f"{count} messages left in {name}")
        return problems


def bench_storm(
    mongo: MongoServer, options: StormOptions, say: Callable[[str], None] = print
) -> dict[str, Any]:
    """The storm on a broker node of its own and the whole system: its figures and every
    discrepancy (`discrepancies`, empty when all reconciles)."""
    broker = RabbitNode()
    broker.start()
    try:
        with whole_system(mongo, broker.url) as system:
            return asyncio.run(Storm(system, broker, options, say).run())
    finally:
        broker.remove()


def storm_figures(result: dict[str, Any]) -> list[Figure]:
    section = (
        f"Money storm: {result['clients']} clients, {result['accounts']} accounts, billing "
        "killed with SIGKILL, the broker restarted"
    )
    found = len(result["discrepancies"])
    return [
        Figure(section, "money operations answered", result["operations"], "operations"),
        Figure(section, "throughput", result["operations_per_s"], "operations/s"),
        Figure(section, "billing kills survived", result["billing_kills"], "kills"),
        Figure(section, "broker restarts survived", result["broker_restarts"], "restarts"),
        Figure(section, "operations retried with the same key", result["retried_operations"], ""),
        Figure(section, "discrepancies", found, "", "0", found == 0),
    ]


def print_storm(say: Callable[[str], None], result: dict[str, Any]) -> None:
    say(
        f"Money storm: {result['operations']:,} operations from {result['clients']} clients "
        f"over {result['accounts']} accounts in {result['seconds']:.0f} s "
        f"({result['operations_per_s']:.1f} operations/s)"
    )
    say("  by kind: " + ", ".join(f"{k} {v:,}" for k, v in sorted(result["by_kind"].items())))
    say("  refused: " + (", ".join(f"{k} {v:,}" for k, v in result["refused"].items()) or "none"))
    say(
        f"  billing killed (SIGKILL) and survived {result['billing_kills']} times, broker "
        f"restarted {result['broker_restarts']} times; {result['retried_operations']:,} "
        f"operations retried with the same key ({result['retries']:,} retries in all)"
    )
    for line in result["chaos"]:
        say(f"    {line}")
    say(
        f"  applied: {result['transfers_applied']:,} transfers, {result['payments_applied']:,} "
        f"payments, {result['promised_payments']:,} promised payments, "
        f"{result['usage_records']:,} usage records; {result['ledger_entries']:,} ledger entries"
    )
    say(
        f"  settled in {result['settle_seconds']:.0f} s"
        if result["settled"]
        else "  did NOT settle"
    )
    say("  events (written → applied by each consumer):")
    for name, row in result["events"].items():
        say(f"    {name}: " + ", ".join(f"{k} {v:,}" for k, v in row.items()))
    found = result["discrepancies"]
    say(f"  discrepancies: {len(found)}")
    for line in found[:200]:
        say(f"    {line}")
    if len(found) > 200:
        say(f"    … and {len(found) - 200} more")
