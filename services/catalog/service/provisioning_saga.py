"""A change of a number on the network, as a saga: never asked inside a transaction.

A: in the deciding transaction (the caller's), an intent per number (store/intents.py),
   which holds the number; committed.
B: `Provisioning.apply(change, reference)`, outside any transaction.
C: in a transaction guarded by the intent still pending, which the answer finishes (and so
   lets the number go): confirmed → the number takes the fields the change sets (only
   those), the number's event; refused → nothing of the number changes (a replacement's
   new number back in the free pool). The caller adds what its owner
   tells (a journal entry, a bulk result) in the same transaction.

A process killed anywhere leaves a pending intent, never a half: the reconciler (here,
run by the catalog service) takes the intents of single calls whose lease ran out, asks
the network `settle(reference)` — the final answer — and finishes (applied) or undoes
(not applied) them; a system block's intent is asked again with `apply` (the system
still wants it). A bulk operation's intents are its worker's (service/bulk_runner.py).
The lease must outlast any call in flight (VM_WORK_LEASE_SECONDS).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.crash_points import (
    AFTER_NETWORK,
    BEFORE_ANSWER_COMMIT,
    BEFORE_NETWORK,
    crash_point,
)
from services.catalog.domain import operations as rules
from services.catalog.domain.bulk import TargetResult
from services.catalog.provisioning import (
    BlockChange,
    MsisdnChange,
    Provisioning,
    ProvisioningFailed,
    ProvisioningPending,
)
from services.catalog.service.decisions import BLOCKED, SOURCE, UNBLOCKED, block_event
from services.catalog.store.intents import (
    APPLIED,
    DROPPED,
    REFUSED,
    SINGLE,
    SYSTEM,
    UNCHANGED,
    Intent,
    IntentStore,
)
from services.catalog.store.number_changes import NumberChanges, fields_changed
from services.kit import single_operation as single
from services.kit.errors import Conflict, DomainError
from services.kit.events import Event
from services.kit.ids import new_id
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox

log = logging.getLogger(__name__)

# Changes asked of the network at once by one process.
NETWORK_CONCURRENCY = 32
# Intents the reconciler takes per pass.
DUE_PER_PASS = 50
# A system block the network refused is asked again (a new reference) after this.
SYSTEM_RETRY = timedelta(seconds=5)
# A system block whose number is held by another change is tried again after this.
HELD_RETRY = timedelta(seconds=1)


class ChangeInProgress(Conflict):
    """Another change of the number is on its way to the network (409 `conflict`, reason
    `change_in_progress`): try again once it is answered."""

    reason = "CHANGE_IN_PROGRESS"

    def __init__(self) -> None:
        super().__init__(
            "another change of this number is on its way to the network; try again shortly"
        )


@dataclass(frozen=True)
class Answer:
    """The network's answer: applied, refused (with the refusal), or not known."""

    applied: bool | None
    refusal: DomainError | None = None


UNKNOWN = Answer(None)
CONFIRMED = Answer(True)


def not_applied() -> Answer:
    return Answer(
        False,
        ProvisioningFailed(
            "the network did not confirm the change; nothing was changed, try again later"
        ),
    )


class ProvisioningSaga:
    def __init__(
        self,
        intents: IntentStore,
        changes: NumberChanges,
        transactions: Transactions,
        outbox: Outbox,
        provisioning: Provisioning,
        *,
        lease: timedelta = timedelta(seconds=30),
    ) -> None:
        self._intents = intents
        self._changes = changes
        self._tx = transactions
        self._outbox = outbox
        self._provisioning = provisioning
        self._lease = lease
        self._network = asyncio.Semaphore(NETWORK_CONCURRENCY)

    @property
    def intents(self) -> IntentStore:
        return self._intents

    @property
    def lease(self) -> timedelta:
        """How long a process may take between the intent and its answer before the
        reconciler takes the intent over: longer than any call to the network."""
        return self._lease

    async def ensure_indexes(self) -> None:
        await self._intents.ensure_indexes()
        prepare = getattr(self._provisioning, "ensure_indexes", None)
        if prepare is not None:
            await prepare()

    # ------------------------------------------------------------ A

    async def intend(
        self, intents: Sequence[Intent], session: AsyncClientSession, *, lease: timedelta
    ) -> None:
        """The intents, each holding its number, in the caller's transaction;
        ChangeInProgress (and the caller's transaction must roll back) if a number has a
        change in flight. After `lease` an intent still pending is the reconciler's (a
        single call's)."""
        if not await self._intents.record(intents, datetime.now(UTC), lease, session):
            raise ChangeInProgress()

    # ------------------------------------------------------------ B

    async def ask(self, intent: Intent) -> Answer:
        """The network, asked outside any transaction; never raises."""
        crash_point(BEFORE_NETWORK)
        async with self._network:
            try:
                await self._provisioning.apply(intent.change, intent.reference)
            except DomainError as refusal:
                answer = Answer(False, refusal)
            except Exception as error:  # no answer: the reconciler settles it later
                log.warning(
                    "the network did not answer",
                    extra={"reference": intent.reference, "error": str(error)[:200]},
                )
                answer = UNKNOWN
            else:
                answer = CONFIRMED
        crash_point(AFTER_NETWORK)
        return answer

    async def ask_all(self, intents: Sequence[Intent]) -> list[Answer]:
        return list(await asyncio.gather(*(self.ask(i) for i in intents)))

    async def settle(self, intent: Intent) -> Answer:
        try:
            applied = await self._provisioning.settle(intent.reference)
        except Exception as error:  # no answer yet: the next pass asks again
            log.warning(
                "the network did not settle",
                extra={"reference": intent.reference, "error": str(error)[:200]},
            )
            return UNKNOWN
        return CONFIRMED if applied else not_applied()

    # ------------------------------------------------------------ C

    async def record(self, intent: Intent, answer: Answer, session: AsyncClientSession) -> bool:
        """One number's answer in the caller's transaction; False (nothing written) when
        it was recorded already."""
        assert answer.applied is not None
        now = datetime.now(UTC)
        if not await self._intents.finish(
            intent, APPLIED if answer.applied else REFUSED, now, session
        ):
            return False
        if answer.applied:
            await self._numbers_confirmed([intent], now, session)
            if intent.event is not None:
                await self._outbox.add(session, intent.event)
        else:
            await self._numbers_refused([intent], session)
        return True

    async def record_all(
        self,
        answered: Sequence[tuple[Intent, Answer]],
        session: AsyncClientSession,
        results: Mapping[str, TargetResult] | None = None,
    ) -> list[tuple[Intent, Answer]]:
        """A batch's answers in the caller's transaction, each intent carrying its result
        in `results` (by reference) if there; returns those recorded here (not by another
        process before)."""
        now = datetime.now(UTC)
        pending = await self._intents.still_pending([i for i, _ in answered], session)
        mine = [(i, a) for i, a in answered if i.reference in pending and a.applied is not None]
        confirmed = [i for i, a in mine if a.applied]
        refused = [i for i, a in mine if not a.applied]
        await self._intents.finish_all(confirmed, APPLIED, now, session, results)
        await self._intents.finish_all(refused, REFUSED, now, session, results)
        await self._numbers_confirmed(confirmed, now, session)
        await self._numbers_refused(refused, session)
        events = [i.event for i in confirmed if i.event is not None]
        await self._outbox.add(session, *events)
        return mine

    async def _numbers_confirmed(
        self, intents: Sequence[Intent], now: datetime, session: AsyncClientSession
    ) -> None:
        replaced = [i for i in intents if isinstance(i.change, MsisdnChange)]
        for intent in replaced:
            await self._changes.replace_number(
                intent.company_id, intent.msisdn, intent.fields, now, session
            )
        await self._intents.confirmed([i for i in intents if i not in replaced], session)

    async def _numbers_refused(
        self, intents: Sequence[Intent], session: AsyncClientSession
    ) -> None:
        for intent in intents:
            if intent.free is not None:
                await self._changes.put_free(intent.free, session)

    # ------------------------------------------------------------ single calls

    async def run_single(self, intent: Intent) -> None:
        """B and C of a single call: returns when the change is recorded; its refusal
        (recorded) or ProvisioningPending (left to the reconciler) otherwise."""
        answer = await self.ask(intent)
        if answer.applied is None:
            raise ProvisioningPending(
                "the network has not answered yet; the change is completed or undone shortly"
            )
        await self._tx.run(lambda session: self._record_single(intent, answer, session))
        if answer.refusal is not None:
            raise answer.refusal

    async def _record_single(
        self, intent: Intent, answer: Answer, session: AsyncClientSession
    ) -> None:
        if await self.record(intent, answer, session):
            await self._outbox.add(session, _journal_entry(intent, answer))
        crash_point(BEFORE_ANSWER_COMMIT)

    # ------------------------------------------------------------ the reconciler

    async def reconcile(self, now: datetime | None = None) -> int:
        """One pass: the due intents of single calls settled, system blocks held and
        asked (again); returns how many were taken."""
        now = now or datetime.now(UTC)
        due = await self._intents.due((SINGLE, SYSTEM), now, DUE_PER_PASS)
        for reference in due:
            try:
                await self._reconcile_one(reference, now)
            except Exception:  # this one alone waits for the next pass
                log.exception("a change could not be reconciled", extra={"reference": reference})
        return len(due)

    async def _reconcile_one(self, reference: str, now: datetime) -> None:
        claimed = await self._intents.claim(reference, now, self._lease)
        if claimed is None:
            return  # another replica's, or answered meanwhile
        intent = claimed
        if not intent.held:  # a system block queued: the number first
            held = await self._tx.run(lambda session: self._hold(claimed, session))
            if held is None:
                return
            intent = held
        if intent.owner == SYSTEM:
            answer = await self.ask(intent)  # the system still wants it: asked again
        else:
            answer = await self.settle(intent)
        if answer.applied is None:
            return  # asked again once the lease runs out
        await self._tx.run(lambda session: self._reconciled(intent, answer, session))

    async def _hold(self, intent: Intent, session: AsyncClientSession) -> Intent | None:
        """A queued system block: decided on the number as it is now and the number held
        — or finished (nothing to do), or postponed (an earlier one first, or the number
        held by another change)."""
        now = datetime.now(UTC)
        number = await self._changes.get(intent.company_id, intent.msisdn, session)
        change = intent.change
        assert isinstance(change, BlockChange)
        if number is None:
            await self._intents.finish(intent, DROPPED, now, session)
            return None
        if await self._intents.earlier_queued(intent, session):
            await self._intents.postpone(intent, now + HELD_RETRY)
            return None
        after = rules.as_system_wants(number, change.block_type, change.set, now)
        if after is None:
            await self._intents.finish(intent, UNCHANGED, now, session)
            return None
        decided = replace(
            intent,
            fields=fields_changed(number, after),
            event=block_event(BLOCKED if change.set else UNBLOCKED, after, change.block_type),
            held=True,
        )
        if not await self._intents.hold(decided, session):
            await self._intents.postpone(intent, now + HELD_RETRY)
            return None
        return decided

    async def _reconciled(
        self, intent: Intent, answer: Answer, session: AsyncClientSession
    ) -> None:
        if intent.owner == SYSTEM and not answer.applied:
            await self._retry_system(intent, session)
        elif await self.record(intent, answer, session) and intent.owner == SINGLE:
            await self._outbox.add(session, _journal_entry(intent, answer))
        crash_point(BEFORE_ANSWER_COMMIT)

    async def _retry_system(self, intent: Intent, session: AsyncClientSession) -> None:
        """The system still wants the block the network refused: the number is let go (the
        intent finished) and the block queued again, asked later under a new reference (a
        refused reference stays refused) and decided anew then."""
        now = datetime.now(UTC)
        if not await self._intents.finish(intent, REFUSED, now, session):
            return
        again = replace(intent, reference=new_id("prv"), fields={}, event=None, held=False)
        await self._intents.queue([again], now + SYSTEM_RETRY, session)

    async def run_reconciler(self, every_seconds: float) -> None:
        """The reconciler's life in the catalog service (every replica runs one: the
        claim on each intent keeps them apart); a full pass is followed by another at
        once."""
        while True:
            try:
                if await self.reconcile() >= DUE_PER_PASS:
                    continue
            except Exception as error:  # the database is away: the next pass tries again
                log.warning("reconciler paused", extra={"error": str(error)[:200]})
            await asyncio.sleep(every_seconds)


def _journal_entry(intent: Intent, answer: Answer) -> Event:
    """A single call's entry of the operations journal, with its outcome."""
    assert intent.journal is not None
    op = single.SingleOperation(**intent.journal)
    if answer.applied:
        return single.operation_event(op, single.CHANGED, source=SOURCE)
    refusal = answer.refusal or not_applied().refusal
    assert refusal is not None
    return single.operation_event(op, single.refused(refusal), source=SOURCE)
