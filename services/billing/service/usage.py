"""Billing's use cases: spending limits, the usage feed, a number's usage, monthly fees,
and the month's end for limit blocks.

- The feed's records are charged in batches, one transaction each: a record already seen
  (its id) is skipped, a record of an unknown number or of a number without an account is
  rejected (and not stored, so the operator may send it again later). Each batch adds to
  the numbers' spending this month and tells which limits it reached.
- Limits count this month's spending only (records of earlier months are charged, not
  counted against a limit).
- Who may: limits need numbers.limits where the number is (reading numbers.view); the
  operator may set and remove them for a company (catalog's bulk operations). The feed,
  the fees and usage of every number are the operator's.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.billing.domain import ledger as postings
from services.billing.domain import limits as rules
from services.billing.domain.limits import BLOCK, SpendingLimit, period_of, spent_on
from services.billing.domain.promised_payments import month_start
from services.billing.domain.usage import (
    UNITS,
    UsageRecord,
    checked_window,
    parse_moment,
    record_problem,
)
from services.billing.service.base import (
    LIMIT_REACHED,
    LIMIT_RESET,
    NUMBERS_LIMITS,
    NUMBERS_VIEW,
    Acting,
    Cases,
    current_time,
    event,
    ordered_id,
)
from services.billing.service.numbers import NumberAccountCases, checked_msisdn
from services.kit import single_operation as single
from services.kit.context import Caller
from services.kit.delivery import MailSender, SmsCentre
from services.kit.errors import Conflict, InvalidArgument, NotAllowed, PermissionDenied, Unavailable
from services.kit.events import Event, read_payload
from vm.billing.events.v1 import events_pb2

log = logging.getLogger(__name__)

BATCH = 500
REJECTIONS_SHOWN = 100
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class RawRecord:
    record_id: str
    msisdn: str
    kind: str
    charge: int
    currency: str
    quantity: int
    at: datetime | None


@dataclass
class Ingested:
    received: int = 0
    charged: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejections: list[tuple[str, str]] = field(default_factory=list)

    def reject(self, record_id: str, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < REJECTIONS_SHOWN:
            self.rejections.append((record_id, reason))


@dataclass(frozen=True)
class UsageSummary:
    kind: str
    charged: int
    quantity: int
    unit: str
    records: int


def limit_reached(limit: SpendingLimit, spent: int, period: str) -> Event:
    payload = events_pb2.LimitReached(
        company_id=limit.company_id,
        msisdn=limit.msisdn,
        kind=limit.kind,
        action=limit.action,
        limit=limit.amount,
        spent=spent,
        period=period,
    )
    return event(LIMIT_REACHED, payload, limit.company_id, limit.msisdn)


def limit_reset(company_id: str, msisdn: str, period: str) -> Event:
    payload = events_pb2.LimitReset(company_id=company_id, msisdn=msisdn, period=period)
    return event(LIMIT_RESET, payload, company_id, msisdn)


class UsageCases(Cases):
    def __init__(
        self,
        *args: Any,
        numbers: NumberAccountCases,
        sms: SmsCentre | None = None,
        mail: MailSender | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._numbers = numbers
        self._sms = sms
        self._mail = mail

    # ------------------------------------------------------------ limits

    async def limits(self, caller: Caller, msisdn: str) -> list[tuple[SpendingLimit, int]]:
        acting = await self.acting(caller, NUMBERS_VIEW)
        number = await self._numbers.visible_number(acting.company_id, msisdn, NUMBERS_VIEW, acting)
        return await self._numbers.limits_with_spend(acting.company_id, number["_id"])

    async def set_limit(
        self,
        caller: Caller,
        msisdn: str,
        kind: str,
        amount: int,
        currency: str,
        action: str,
        company_id: str = "",
        actor: str = "",
    ) -> tuple[SpendingLimit, int]:
        acting = await self.acting(caller, NUMBERS_LIMITS, company_id, actor)
        wanted = checked_msisdn(msisdn)
        limit = rules.checked_limit(acting.company_id, wanted, kind, amount, currency, action)
        await self._numbers.visible_number(acting.company_id, wanted, NUMBERS_LIMITS, acting)
        now = current_time()
        period = period_of(now)
        journal = self.single_operation(caller, acting, "set_limit", wanted)

        async def write(session: AsyncClientSession) -> int:
            await self.tell_operation(journal, single.CHANGED, session)
            before = {
                old.kind: old
                for old in await self.stores.limits.of_number(acting.company_id, wanted, session)
            }
            await self.stores.limits.put(limit, acting.actor, now, session)
            spend = await self._spend(acting.company_id, wanted, period, session)
            spent = spent_on(limit.kind, spend)
            old = before.get(limit.kind)
            was_reached = old is not None and spent >= old.amount and old.action == limit.action
            if spent >= limit.amount and not was_reached:
                await self._reached(limit, spent, period, session)
            limits = [*(v for k, v in before.items() if k != limit.kind), limit]
            await self._lift_if_no_longer_due(acting, wanted, limits, spend, period, session)
            return spent

        try:
            return limit, await self._tx.run(write)
        except (NotAllowed, Conflict, Unavailable) as refusal:
            await self.tell_refusal(journal, refusal)
            raise

    async def remove_limit(
        self, caller: Caller, msisdn: str, kind: str, company_id: str = "", actor: str = ""
    ) -> None:
        acting = await self.acting(caller, NUMBERS_LIMITS, company_id, actor)
        wanted = checked_msisdn(msisdn)
        rules.checked_kind(kind)
        await self._numbers.visible_number(acting.company_id, wanted, NUMBERS_LIMITS, acting)
        period = period_of(current_time())
        journal = self.single_operation(caller, acting, "remove_limit", wanted)

        async def write(session: AsyncClientSession) -> None:
            if not await self.stores.limits.remove(acting.company_id, wanted, kind, session):
                raise NotAllowed(f"no {kind} limit is set on this number", reason="LIMIT_NOT_SET")
            limits = await self.stores.limits.of_number(acting.company_id, wanted, session)
            spend = await self._spend(acting.company_id, wanted, period, session)
            await self._lift_if_no_longer_due(acting, wanted, limits, spend, period, session)
            await self.tell_operation(journal, single.CHANGED, session)

        try:
            await self._tx.run(write)
        except (NotAllowed, Conflict, Unavailable) as refusal:
            await self.tell_refusal(journal, refusal)
            raise

    async def _spend(
        self, company_id: str, msisdn: str, period: str, session: AsyncClientSession
    ) -> dict[str, int]:
        found = await self.stores.usage.spend(company_id, [msisdn], period, session)
        return found.get(msisdn, {})

    async def _reached(
        self, limit: SpendingLimit, spent: int, period: str, session: AsyncClientSession
    ) -> None:
        if limit.action == BLOCK and not await self.stores.limits.block_set(
            limit.company_id, limit.msisdn, period, session
        ):
            return  # blocked already this month by another limit
        await self._outbox.add(session, limit_reached(limit, spent, period))

    async def _lift_if_no_longer_due(
        self,
        acting: Acting,
        msisdn: str,
        limits: list[SpendingLimit],
        spend: dict[str, int],
        period: str,
        session: AsyncClientSession,
    ) -> None:
        """A limit raised or removed: the month's limit block ends when no block-action
        limit is reached any more."""
        if rules.blocks_still_due(limits, spend):
            return
        if await self.stores.limits.lift(acting.company_id, msisdn, period, session):
            await self._outbox.add(session, limit_reset(acting.company_id, msisdn, period))

    # ------------------------------------------------------------ the usage feed

    async def ingest(self, caller: Caller, batches: AsyncIterator[Sequence[RawRecord]]) -> Ingested:
        if not caller.is_operator:
            raise PermissionDenied("the usage feed is the operator's")
        result = Ingested()
        pending: list[UsageRecord] = []
        async for records in batches:
            for raw in records:
                result.received += 1
                checked = _checked(raw)
                if isinstance(checked, str):
                    result.reject(raw.record_id, checked)
                    continue
                pending.append(checked)
                if len(pending) >= BATCH:
                    await self._charge_batch(pending, result)
                    pending = []
        if pending:
            await self._charge_batch(pending, result)
        return result

    async def _charge_batch(self, records: list[UsageRecord], result: Ingested) -> None:
        unique: dict[str, UsageRecord] = {}
        for record in records:
            if record.record_id in unique:
                result.duplicates += 1
            else:
                unique[record.record_id] = record
        for _ in range(3):
            try:
                outcome = await self._tx.run(lambda s: self._charge(list(unique.values()), s))
                break
            except DuplicateKeyError:
                continue  # the same records arrived through another stream meanwhile
        else:
            raise NotAllowed("the batch kept colliding with another feed", reason="CONFLICT")
        charged, duplicates, rejections = outcome
        result.charged += charged
        result.duplicates += duplicates
        for record_id, reason in rejections:
            result.reject(record_id, reason)

    async def _charge(
        self, records: list[UsageRecord], session: AsyncClientSession
    ) -> tuple[int, int, list[tuple[str, str]]]:
        seen = await self.stores.usage.seen([r.record_id for r in records], session)
        fresh = [r for r in records if r.record_id not in seen]
        numbers = await self.stores.numbers.get_many({r.msisdn for r in fresh}, session)
        rejections: list[tuple[str, str]] = []
        rows: list[tuple[UsageRecord, str, str]] = []
        for record in fresh:
            number = numbers.get(record.msisdn)
            if number is None:
                rejections.append((record.record_id, "unknown number"))
            elif not number.get("account_id"):
                rejections.append((record.record_id, "the number is billed to no account yet"))
            else:
                rows.append((record, number["company_id"], number["account_id"]))
        if rows:
            batch = ordered_id("use", current_time())
            await self._post_usage(rows, batch, session)
            await self.stores.usage.insert(rows, batch, session)
            await self._count_spend(rows, session)
        return len(rows), len(seen), rejections

    async def _post_usage(
        self, rows: list[tuple[UsageRecord, str, str]], batch: str, session: AsyncClientSession
    ) -> None:
        """One charge per account and month of the batch, dated by its latest record."""
        groups: dict[tuple[str, str, str], list[UsageRecord]] = defaultdict(list)
        for record, company_id, account_id in rows:
            groups[(company_id, account_id, period_of(record.at))].append(record)
        for (company_id, account_id, period), records in sorted(groups.items()):
            total = sum(r.charge for r in records)
            if total == 0:
                continue
            at = max(r.at for r in records)
            posting = postings.charge(
                ordered_id("pst", at),
                postings.USAGE,
                company_id,
                account_id,
                total,
                batch,
                at,
                f"услуги связи за {period}: {len(records)} записей",
            )
            await self.post(posting, session)

    async def _count_spend(
        self, rows: list[tuple[UsageRecord, str, str]], session: AsyncClientSession
    ) -> None:
        period = period_of(current_time())
        added: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )
        for record, company_id, _ in rows:
            if period_of(record.at) == period and record.charge:
                added[company_id][record.msisdn][record.kind] += record.charge
        for company_id, by_number in added.items():
            msisdns = list(by_number)
            before = await self.stores.usage.spend(company_id, msisdns, period, session)
            await self.stores.usage.add_spend(
                company_id, period, {m: dict(k) for m, k in by_number.items()}, session
            )
            limits = await self.stores.limits.of_numbers(msisdns, session)
            for msisdn, kinds in by_number.items():
                old = before.get(msisdn, {})
                new = {k: old.get(k, 0) + kinds.get(k, 0) for k in {*old, *kinds}}
                number_limits = [
                    lim for lim in limits.get(msisdn, []) if lim.company_id == company_id
                ]
                for limit in rules.reached(number_limits, old, new):
                    await self._reached(limit, spent_on(limit.kind, new), period, session)

    # ------------------------------------------------------------ a number's usage

    async def usage(
        self, caller: Caller, msisdn: str, start: str, end: str
    ) -> tuple[str, datetime, datetime, list[UsageSummary]]:
        acting = await self.acting(caller, NUMBERS_VIEW)
        now = current_time()
        window_start, window_end = checked_window(
            parse_moment(start, "from"), parse_moment(end, "to"), now, month_start(now)
        )
        number = await self._numbers.visible_number(acting.company_id, msisdn, NUMBERS_VIEW, acting)
        docs = await self.stores.usage.of_number(
            acting.company_id, number["_id"], window_start, window_end
        )
        sums: dict[str, list[int]] = {kind: [0, 0, 0] for kind in rules.USAGE_KINDS}
        for doc in docs:
            row = sums.setdefault(doc["kind"], [0, 0, 0])
            row[0] += doc["charge"]
            row[1] += doc.get("quantity", 0)
            row[2] += 1
        summaries = [
            UsageSummary(kind, charged, quantity, UNITS.get(kind, ""), count)
            for kind, (charged, quantity, count) in sums.items()
        ]
        return number["_id"], window_start, window_end, summaries

    async def operator_records(
        self,
        caller: Caller,
        company_id: str,
        msisdns: Sequence[str],
        account_id: str,
        start: str,
        end: str,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """A company's rated records in [start, end), for the operator's systems (reports,
        bill detail), in batches as they are read."""
        if not caller.is_operator:
            raise PermissionDenied("this is the operator's")
        window_start, window_end = parse_moment(start, "from"), parse_moment(end, "to")
        if window_start is None or window_end is None or window_end <= window_start:
            raise InvalidArgument("the period is not valid", {"to": "a moment after `from`"})
        await self.stores.companies.get(company_id)
        wanted = [checked_msisdn(m) for m in msisdns]
        return self.stores.usage.stream(
            company_id, wanted, account_id.strip(), window_start, window_end, BATCH
        )

    # ------------------------------------------------------------ monthly fees

    async def charge_fees(
        self, caller: Caller, period: str, company_id: str = ""
    ) -> tuple[int, int, int]:
        """Each billed number's tariff fee and service prices for the period, once per
        number and period; returns (charged, already charged, total kopecks)."""
        if not caller.is_operator:
            raise PermissionDenied("monthly fees are the operator's")
        if not _PERIOD.fullmatch(period):
            raise InvalidArgument("the period is not valid", {"period": "YYYY-MM"})
        if company_id:
            await self.stores.companies.get(company_id)
        prices = await self.stores.fees.prices()
        numbers = await self.stores.numbers.billed(company_id)
        charged = already = total = 0
        for start in range(0, len(numbers), BATCH):
            chunk = numbers[start : start + BATCH]
            for _ in range(3):
                try:
                    done = await self._tx.run(
                        lambda s, chunk=chunk: self._charge_fees(chunk, period, prices, s)
                    )
                    break
                except DuplicateKeyError:
                    continue  # another run of the same period charged some meanwhile
            else:
                raise NotAllowed("another run of the period keeps colliding", reason="CONFLICT")
            charged += done[0]
            already += done[1]
            total += done[2]
        return charged, already, total

    async def _charge_fees(
        self,
        numbers: list[dict[str, Any]],
        period: str,
        prices: dict[str, int],
        session: AsyncClientSession,
    ) -> tuple[int, int, int]:
        already = await self.stores.fees.charged(period, [n["_id"] for n in numbers], session)
        # A month's fee is dated by the month's first day (charged in advance), never later
        # than now.
        year, month = (int(part) for part in period.split("-"))
        now = min(current_time(), datetime(year, month, 1, tzinfo=UTC))
        rows = []
        per_account: dict[tuple[str, str], int] = defaultdict(int)
        for number in numbers:
            if number["_id"] in already:
                continue
            fee = prices.get(number.get("tariff_id", ""), 0) + sum(
                prices.get(s, 0) for s in number.get("services", [])
            )
            rows.append(
                {
                    "_id": f"{period}:{number['_id']}",
                    "company_id": number["company_id"],
                    "msisdn": number["_id"],
                    "account_id": number["account_id"],
                    "period": period,
                    "amount": fee,
                    "at": now,
                }
            )
            per_account[(number["company_id"], number["account_id"])] += fee
        for (company_id, account_id), amount in sorted(per_account.items()):
            if amount == 0:
                continue
            posting = postings.charge(
                ordered_id("pst", now),
                postings.SUBSCRIPTION_FEE,
                company_id,
                account_id,
                amount,
                f"fees:{period}",
                now,
                f"абонентская плата за {period}",
            )
            await self.post(posting, session)
        if rows:
            await self.stores.fees.insert(rows, session)
        return len(rows), len(already), sum(per_account.values())

    # ------------------------------------------------------------ the month's end

    async def lift_ended_blocks(self, now: datetime | None = None) -> int:
        """Limit blocks of months that ended are lifted (safe with several replicas: each
        is lifted by one conditional write, in the transaction of its event)."""
        period = period_of(now or current_time())
        lifted = 0
        for doc in await self.stores.limits.ended(period):

            async def unit(session: AsyncClientSession, doc: dict[str, Any] = doc) -> bool:
                if not await self.stores.limits.lift(
                    doc["company_id"], doc["msisdn"], doc["period"], session
                ):
                    return False
                await self._outbox.add(
                    session, limit_reset(doc["company_id"], doc["msisdn"], doc["period"])
                )
                return True

            lifted += int(await self._tx.run(unit))
        return lifted

    # ------------------------------------------------------------ telling the company

    async def notify_limit(self, reached_event: Event, session: AsyncClientSession) -> None:
        """A notify-action limit reached: an SMS to the company's main number and an
        e-mail to its contact (billing's own consumer calls this; a failed delivery is
        retried by redelivery)."""
        reached = read_payload(reached_event, events_pb2.LimitReached)
        if reached.action != rules.NOTIFY:
            return
        contact = await self.stores.contacts.get(reached.company_id)
        text = (
            f"Номер {reached.msisdn}: расходы за {reached.period} "
            f"({rules.KINDS.get(reached.kind, reached.kind)}) достигли лимита "
            f"{reached.limit / 100:.2f} ₽, израсходовано {reached.spent / 100:.2f} ₽."
        )
        if self._sms is not None and contact.get("main_number"):
            # The event's id as the reference: the SMS centre delivers a repeat once.
            await self._sms.send_sms(contact["main_number"], text, reference=reached_event.id)
        if self._mail is not None and contact.get("contact_email"):
            await self._mail.send_mail(
                contact["contact_email"], "Достигнут лимит расходов по номеру", text
            )


def _checked(raw: RawRecord) -> UsageRecord | str:
    problem = record_problem(
        raw.record_id, raw.msisdn, raw.kind, raw.charge, raw.currency, raw.quantity
    )
    if problem:
        return problem
    return UsageRecord(
        raw.record_id,
        checked_msisdn(raw.msisdn),
        raw.kind,
        raw.charge,
        raw.quantity,
        raw.at or current_time(),
    )
