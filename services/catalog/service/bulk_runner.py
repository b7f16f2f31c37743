"""The bulk worker's use case: run an operation, batch by batch, each number once.

A worker claims the operation (a lease in the database, renewed after every batch), lists
its numbers as pending results the first time, then takes the pending ones in batches of
`batch_size`. A change of numbers is a saga per batch (service/provisioning_saga.py),
never a network call inside a transaction: one transaction reads the numbers, lets the
domain decide each (the same decisions as the single-number calls), records an intent per
number the network is to change (the number held by it) and the results of the others;
the network is asked for all of them at once, outside any transaction, each change under
its intent's reference; a second transaction, fenced by the claim, records the answers —
the fields each change sets, the results (each on its intent, which the answer finishes),
the counters and the events. A number the
network refused stays as it was and its result says why; a number held by another change
in flight is refused (`change_in_progress`). A worker that dies anywhere leaves the
batch's intents pending: the next worker to hold the operation first asks the network
again under the same references (answered as before, never applied twice), so each
number is changed once and has one result.

An SMS goes out before its result is written (sending is no database write); a worker
resuming after a crash sends the batch again with the same references, which the SMS
centre delivers once.

Changes kept by billing (limits, the account) go to billing one number at a time, each
result written as soon as billing answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.catalog.crash_points import BEFORE_ANSWER_COMMIT, crash_point
from services.catalog.domain import bulk as rules
from services.catalog.domain.bulk import (
    BulkOperation,
    TargetResult,
    refusal_result,
    refused,
    succeeded,
    unchanged,
)
from services.catalog.domain.numbers import BLOCKED, Number, Scope
from services.catalog.provisioning import (
    BlockChange,
    Change,
    ForwardingChange,
    Provisioning,
    ServiceChange,
    TariffChange,
)
from services.catalog.service import decisions
from services.catalog.service.bulk import operation_updated
from services.catalog.service.decisions import Decide, Decision, Loaded
from services.catalog.service.provisioning_saga import Answer, ChangeInProgress, ProvisioningSaga
from services.catalog.store.catalogue import CatalogueStore
from services.catalog.store.hierarchy import NodeStore
from services.catalog.store.intents import BULK, Intent, IntentStore, bulk_reference
from services.catalog.store.number_changes import NumberChanges, fields_changed
from services.catalog.store.numbers import NumberStore
from services.catalog.store.operations import OperationStore
from services.kit import operation_status
from services.kit.delivery import SmsCentre
from services.kit.errors import DomainError, Unavailable
from services.kit.metrics import BULK_TARGETS
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox

log = logging.getLogger(__name__)

# SMS handed to the SMS centre at once (changes of the network: the saga's concurrency).
NETWORK_CONCURRENCY = 32
# When the network did not answer some changes of a batch: the pause before asking again.
UNANSWERED_PAUSE_SECONDS = 1.0


class AccountChanges(Protocol):
    """Billing's side of the bulk types it keeps (set_limit, remove_limit,
    move_to_account): one number at a time; a refusal raises its DomainError."""

    async def apply(
        self, company_id: str, actor: str, msisdn: str, action: rules.AccountChange
    ) -> str:
        """What happened, as a result code ("changed", "unchanged")."""
        ...


class WorkerStopping(Exception):
    """The worker is stopping: the operation goes back to the queue for another one."""


class ClaimLost(Exception):
    """Another worker holds the operation now (this one's lease ran out)."""


@dataclass(frozen=True)
class WorkerSettings:
    batch_size: int = 100
    lease: timedelta = timedelta(seconds=30)


class BulkRunner:
    def __init__(
        self,
        operations: OperationStore,
        numbers: NumberStore,
        nodes: NodeStore,
        catalogue: CatalogueStore,
        changes: NumberChanges,
        transactions: Transactions,
        outbox: Outbox,
        provisioning: Provisioning,
        sms: SmsCentre,
        accounts: AccountChanges | None = None,
        settings: WorkerSettings | None = None,
        intents: IntentStore | None = None,
    ) -> None:
        self._operations = operations
        self._numbers = numbers
        self._nodes = nodes
        self._catalogue = catalogue
        self._changes = changes
        self._tx = transactions
        self._outbox = outbox
        self._sms = sms
        self._accounts = accounts
        self._settings = settings or WorkerSettings()
        self._saga = ProvisioningSaga(
            intents or IntentStore(changes.db),
            changes,
            transactions,
            outbox,
            provisioning,
            lease=self._settings.lease,
        )
        self._holder = f"worker-{secrets.token_hex(6)}"
        self._network = asyncio.Semaphore(NETWORK_CONCURRENCY)
        self._stopping = False
        self._in_hand: set[str] = set()  # the operations this worker is running
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def on_database(
        cls,
        db: AsyncDatabase,
        transactions: Transactions,
        outbox: Outbox,
        provisioning: Provisioning,
        sms: SmsCentre,
        **choices: Any,
    ) -> BulkRunner:
        """A worker over the catalog's database `db`, its stores made there; `choices`:
        the constructor's keywords (accounts, settings, intents)."""
        stores = (OperationStore(db), NumberStore(db), NodeStore(db), CatalogueStore(db))
        changes = NumberChanges(db)
        return cls(*stores, changes, transactions, outbox, provisioning, sms, **choices)

    async def stop(self, grace_seconds: float) -> None:
        """Take no new operation; let those in hand stop after their batch (another
        worker resumes them at once), waiting at most `grace_seconds`."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), grace_seconds)

    # ------------------------------------------------------------ the course

    async def run(self, operation_id: str) -> None:
        """Run the operation if it is due and no other worker holds it; return when it
        has ended (or this worker lost its claim)."""
        if self._stopping:
            raise WorkerStopping("this worker is stopping")  # back to the queue
        if operation_id in self._in_hand:
            return  # handed over twice (by catalog and by a sweeper): this worker has it
        self._in_hand.add(operation_id)  # before any await: a second delivery sees it
        self._idle.clear()
        try:
            op = await self._operations.claim(
                operation_id, self._holder, datetime.now(UTC), self._settings.lease
            )
            if op is not None:  # else ended, not due, or another worker's
                await self._run_claimed(op)
        except BaseException:
            # An unexpected failure: let another worker take it over now.
            await asyncio.shield(self._operations.release(operation_id, self._holder))
            raise
        finally:
            self._in_hand.discard(operation_id)
            if not self._in_hand:
                self._idle.set()

    async def _run_claimed(self, op: BulkOperation) -> None:
        if not op.expanded:
            started = await self._start(op)
            if started is None:
                return
            op = started
        while True:
            if op.cancel_requested:
                # Changes already asked of the network are answered first (they may have
                # happened); ended once none is left unanswered.
                if not await self._resume(op) or not await self._in_flight(op):
                    await self._end(op, cancelled=True)
                    return
            else:
                batch = await self._operations.pending(op, self._settings.batch_size)
                if not batch:
                    await self._end(op, cancelled=False)
                    return
                try:
                    await self._run_batch(op, batch)
                except ClaimLost:
                    log.warning("claim on an operation lost mid-batch", extra={"operation": op.id})
                    return
            renewed = await self._operations.renew(
                op.id, self._holder, datetime.now(UTC) + self._settings.lease
            )
            if renewed is None:
                log.warning("claim on an operation lost", extra={"operation": op.id})
                return
            if self._stopping:
                await self._operations.release(op.id, self._holder)
                return
            op = renewed

    async def _start(self, op: BulkOperation) -> BulkOperation | None:
        """List the operation's numbers (a subtree as it is now) as pending results."""
        if op.targets.node_id:
            msisdns = await self._numbers.msisdns_in(self._scope(op), op.targets.node_id)
        else:
            msisdns = list(op.targets.msisdns)

        async def write(session: AsyncClientSession) -> BulkOperation | None:
            total = await self._operations.list_targets(op, msisdns, session)
            started = await self._operations.mark_started(op.id, total, datetime.now(UTC), session)
            if started is not None:
                # The operation, not its targets: its results are listed from here (the
                # targets are pending results from the start, in the request's order).
                await self._outbox.add(session, operation_updated(started))
            return started

        return await self._tx.run(write)

    async def _end(self, op: BulkOperation, *, cancelled: bool) -> None:
        now = datetime.now(UTC)
        if cancelled:
            await self._operations.cancel_pending(op, now)
        status = operation_status.final_status(
            op.progress.done, op.progress.failed, cancelled=cancelled
        )

        async def write(session: AsyncClientSession) -> None:
            ended = await self._operations.finish(op.id, status, now, session)
            await self._outbox.add(session, operation_updated(ended))

        await self._tx.run(write)
        log.info("operation ended", extra={"operation": op.id, "status": status})

    async def _run_batch(self, op: BulkOperation, batch: Mapping[str, int]) -> None:
        action = op.action
        if isinstance(action, rules.SendSms):
            await self._send_sms(op, action, batch)
        elif isinstance(action, rules.SetLimit | rules.RemoveLimit | rules.MoveToAccount):
            await self._change_accounts(op, action, batch)
        else:
            await self._change_numbers(op, action, batch)

    # ------------------------------------------------------------ numbers

    async def _change_numbers(
        self, op: BulkOperation, action: rules.NumberChange, batch: Mapping[str, int]
    ) -> None:
        """A: decide the batch, record an intent per number the network is to change (each
        number held by it) with the other results; B: the network, outside any
        transaction; C: its answers, the numbers' fields, results and events."""
        if await self._resume(op):
            return  # the batch's pending targets may have been this operation's own
        intents: list[Intent] = []
        committed: list[TargetResult] = []

        async def decide_batch(session: AsyncClientSession) -> None:
            intents.clear()  # a retried transaction decides anew
            committed.clear()
            # Pending again inside the transaction: what a previous worker committed is
            # not done twice.
            pending = await self._operations.pending(op, len(batch), session)
            if not pending:
                return
            # The claim first: the transaction is short (the network is asked after it), and
            # holding the operation's document from the start makes a sweeper's write wait
            # for the commit instead of failing it.
            await self._hold(op, session)
            found = await self._numbers.get_many(self._scope(op), list(pending), session)
            numbers = {n.msisdn: n for n in found}
            held = await self._saga.intents.locked(list(pending), session)
            catalogue = await self._catalogue.catalogue(session)
            decide = await self._decider(op, action, session)
            results: list[TargetResult] = []
            moved: list[Decision] = []
            for msisdn in pending:
                number = numbers.get(msisdn)
                if number is None:
                    results.append(_gone(msisdn))
                    continue
                outcome = await _decided(decide, Loaded(number, catalogue, session))
                if isinstance(outcome, TargetResult):
                    results.append(outcome)
                elif op.dry_run:
                    results.append(succeeded(msisdn, "would_change", describe(outcome)))
                elif outcome.change is None:  # ours alone (the node): written now
                    moved.append(outcome)
                    results.append(succeeded(msisdn, "changed", describe(outcome)))
                elif msisdn in held:  # another change of it is in flight
                    error = ChangeInProgress()
                    results.append(refused(msisdn, error.reason, error.message))
                else:
                    intents.append(
                        Intent(
                            reference=bulk_reference(op.id, msisdn),
                            company_id=op.company_id,
                            msisdn=msisdn,
                            change=outcome.change,
                            fields=fields_changed(number, outcome.after),
                            event=outcome.event,
                            owner=BULK,
                            operation_id=op.id,
                            position=pending[msisdn],
                            detail=describe(outcome),
                        )
                    )
            for decision in moved:
                await self._changes.set_fields(
                    decision.after,
                    fields_changed(numbers[decision.after.msisdn], decision.after),
                    session,
                )
            await self._saga.intend(intents, session, lease=self._settings.lease)
            if results:
                updated = await self._operations.decide(
                    op, results, pending, datetime.now(UTC), session
                )
                events = [d.event for d in moved]
                await self._outbox.add(session, *events, operation_updated(updated, results))
            committed.extend(results)

        await self._tx.run(decide_batch)
        _count_targets(op, committed)
        if intents:
            await self._answer(op, intents)

    async def _resume(self, op: BulkOperation) -> bool:
        """The operation's intents a worker left (it died, or the network did not answer):
        asked again with their references, so the network answers them as it did, never
        changing a number twice. Returns whether there were any."""
        left = await self._saga.intents.of_operation(op.id)
        if left:
            log.info("resuming changes in flight", extra={"operation": op.id, "count": len(left)})
            await self._answer(op, left)
        return bool(left)

    async def _in_flight(self, op: BulkOperation) -> bool:
        return bool(await self._saga.intents.of_operation(op.id))

    async def _answer(self, op: BulkOperation, intents: list[Intent]) -> None:
        answers = await self._saga.ask_all(intents)
        answered = list(zip(intents, answers, strict=True))
        recorded: list[TargetResult] = []

        async def record(session: AsyncClientSession) -> None:
            recorded.clear()
            await self._hold(op, session)  # fenced: nothing if another worker has it now
            # Each intent carries its number's result: one write for the answer.
            carried = {i.reference: _answered(i, a) for i, a in answered if a.applied is not None}
            mine = await self._saga.record_all(answered, session, carried)
            results = [carried[intent.reference] for intent, _ in mine]
            if results:
                updated = await self._operations.count_decided(op, results, session)
                await self._outbox.add(session, operation_updated(updated, results))
            recorded.extend(results)
            crash_point(BEFORE_ANSWER_COMMIT)

        await self._tx.run(record)
        _count_targets(op, recorded)
        if any(a.applied is None for a in answers):
            await asyncio.sleep(UNANSWERED_PAUSE_SECONDS)  # asked again by the next batch

    async def _decider(
        self, op: BulkOperation, action: rules.NumberChange, session: AsyncClientSession
    ) -> Decide:
        now = datetime.now(UTC)
        match action:
            case rules.ChangeTariff(tariff_id, settings):
                return decisions.tariff_change(tariff_id, settings)
            case rules.ConnectService(service_id):
                return decisions.service_connection(service_id, now)
            case rules.DisconnectService(service_id):
                return decisions.service_disconnection(service_id)
            case rules.SetBlock(block_type):
                return decisions.block_setting(block_type, now)
            case rules.RemoveBlock(block_type):
                return decisions.block_removal(block_type)
            case rules.SetForwarding(condition, target):
                return decisions.forwarding_setting(condition, target)
            case rules.RemoveForwarding(condition):
                return decisions.forwarding_removal(condition)
            case rules.MoveToNode(node_id):
                tree = await self._nodes.tree(op.company_id, session)
                return decisions.move_to(tree.get(node_id))
        raise AssertionError(f"no decision for {action!r}")

    # ------------------------------------------------------------ SMS

    async def _send_sms(
        self, op: BulkOperation, action: rules.SendSms, batch: Mapping[str, int]
    ) -> None:
        found = await self._numbers.get_many(self._scope(op), list(batch))
        numbers = {n.msisdn: n for n in found}

        async def deliver(msisdn: str) -> TargetResult:
            number = numbers.get(msisdn)
            if number is None:
                return _gone(msisdn)
            if number.status == BLOCKED:
                return refused(msisdn, "NUMBER_BLOCKED", "номер заблокирован: SMS не доставлено")
            async with self._network:
                try:
                    await self._sms.send_sms(msisdn, action.text, reference=f"{op.id}:{msisdn}")
                except Unavailable as error:
                    return refused(msisdn, "SMS_CENTRE_UNAVAILABLE", error.message)
            return succeeded(msisdn, "delivered", "принято SMS-центром")

        results = list(await asyncio.gather(*(deliver(m) for m in batch)))
        await self._record(op, results, batch)

    # ------------------------------------------------------------ billing's

    async def _change_accounts(
        self, op: BulkOperation, action: rules.AccountChange, batch: Mapping[str, int]
    ) -> None:
        async def change(msisdn: str) -> TargetResult:
            if self._accounts is None:
                return refused(msisdn, "UNAVAILABLE", "billing is not reachable from here")
            if op.dry_run:
                return succeeded(msisdn, "would_change", "")
            try:
                code = await self._accounts.apply(op.company_id, op.created_by, msisdn, action)
            except DomainError as error:
                return refusal_result(msisdn, error.reason, error.message)
            return unchanged(msisdn) if code == "unchanged" else succeeded(msisdn, code)

        found = await self._numbers.get_many(self._scope(op), list(batch))
        reachable = {n.msisdn for n in found}
        results = [
            await change(m) if m in reachable else _gone(m)
            for m in batch  # one at a time: billing's own pace
        ]
        await self._record(op, results, batch)

    async def _record(
        self, op: BulkOperation, results: list[TargetResult], places: Mapping[str, int]
    ) -> None:
        async def write(session: AsyncClientSession) -> None:
            await self._hold(op, session)
            updated = await self._operations.decide(op, results, places, datetime.now(UTC), session)
            await self._outbox.add(session, operation_updated(updated, results))

        await self._tx.run(write)
        _count_targets(op, results)

    # ------------------------------------------------------------ helpers

    async def _hold(self, op: BulkOperation, session: AsyncClientSession) -> BulkOperation:
        """In each batch's transaction: the operation as it is now, its claim extended;
        ClaimLost (and nothing committed) if another worker has it now."""
        until = datetime.now(UTC) + self._settings.lease
        held = await self._operations.renew(op.id, self._holder, until, session)
        if held is None:
            raise ClaimLost(op.id)
        return held

    @staticmethod
    def _scope(op: BulkOperation) -> Scope:
        return Scope(op.company_id, op.scope_nodes)


async def _decided(decide: Decide, loaded: Loaded) -> Decision | TargetResult:
    """The number's decision, or its result when there is nothing to ask the network."""
    msisdn = loaded.number.msisdn
    try:
        decision = await decide(loaded)
    except DomainError as error:
        return refusal_result(msisdn, error.reason, error.message)
    if decision is None:
        return unchanged(msisdn)
    return decision


def _count_targets(op: BulkOperation, results: list[TargetResult]) -> None:
    """Per-number throughput, once the batch is committed (a dry run changes nothing)."""
    if op.dry_run:
        return
    for result in results:
        BULK_TARGETS.labels(op.type, result.status).inc()


def _answered(intent: Intent, answer: Answer) -> TargetResult:
    if answer.applied:
        return succeeded(intent.msisdn, "changed", intent.detail)
    refusal = answer.refusal
    if refusal is None:
        return refused(intent.msisdn, "PROVISIONING_FAILED", "the network did not confirm")
    return refused(intent.msisdn, refusal.reason, refusal.message)


def _gone(msisdn: str) -> TargetResult:
    return refused(msisdn, "NOT_FOUND", "номер не найден среди номеров компании в вашей зоне")


def describe(decision: Decision) -> str:
    """What the change does to the number, for people."""
    after: Number = decision.after
    change: Change | None = decision.change
    match change:
        case TariffChange():
            return f"тариф «{after.tariff.name}»"
        case ServiceChange(service_id=service_id, connected=connected):
            return f"услуга {service_id} {'подключена' if connected else 'отключена'}"
        case BlockChange(block_type=block_type, set=is_set):
            return f"блокировка {block_type} {'установлена' if is_set else 'снята'}"
        case ForwardingChange(condition=condition, target=target):
            if not target:
                return f"переадресация {condition} снята"
            return f"переадресация {condition} → {target}"
        case None:
            return f"узел {after.node_id}"
    return type(change).__name__
