"""Billing's use cases: money moving — the operator's payments, transfers between the
company's accounts, promised payments and their repayment when their term ends.

Who may: transfers need finance.transfer, promised payments finance.promised_payment,
the lists finance.view (company-level); payments are the operator's.

Requests that move money carry an idempotency key, stored with the request's digest in
the same transaction as the effect: a repeat answers the first result. Two requests with
one key at the same time both try to insert the key's record; one commits, the other's
transaction fails on the key (or conflicts and runs again) and then answers the first's
result. A request refused (e.g. not enough money) stores nothing, so the same key may be
tried again later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.billing.domain import ledger as postings
from services.billing.domain.accounts import Account
from services.billing.domain.ledger import Entry, checked_amount
from services.billing.domain.promised_payments import (
    REMIND_BEFORE,
    PromisedPayment,
    averaged_window,
    cap,
    check_promise,
    current_cap,
    new_promise,
    reminder_due,
)
from services.billing.domain.transfers import COMPLETED, Transfer, checked_transfer
from services.billing.service.base import (
    PAYMENT_RECEIVED,
    PROMISE,
    PROMISE_DUE,
    PROMISE_REPAID,
    PROMISE_TAKEN,
    TRANSFER,
    TRANSFER_COMPLETED,
    VIEW,
    Cases,
    current_time,
    event,
    ordered_id,
)
from services.billing.store.money import promise_from
from services.kit.context import Caller
from services.kit.errors import Conflict, IdempotencyKeyReused, InvalidArgument, PermissionDenied
from services.kit.idempotency import check_replay, checked_idempotency_key, request_digest
from services.kit.paging import decode_page_token, encode_page_token, page_size
from vm.billing.events.v1 import events_pb2

T = TypeVar("T")
PAYMENT_ID_MAX = 100
DESCRIPTION_MAX = 300
KEY_ATTEMPTS = 5


class MoneyCases(Cases):
    # ------------------------------------------------------------ the operator's payments

    async def record_payment(
        self,
        caller: Caller,
        payment_id: str,
        company_id: str,
        account_id: str,
        amount: int,
        currency: str,
        received_at: datetime | None,
        description: str = "",
    ) -> tuple[Entry, Account, bool]:
        """A payment once per payment id; the same id again answers the first booking,
        and with other details it is refused."""
        if not caller.is_operator:
            raise PermissionDenied("payments are recorded by the operator")
        payment_id = payment_id.strip()
        if not payment_id or len(payment_id) > PAYMENT_ID_MAX:
            raise InvalidArgument(
                "the payment id is not valid", {"payment_id": f"1 to {PAYMENT_ID_MAX} characters"}
            )
        checked_amount(amount, currency)
        await self.stores.companies.get(company_id)
        at = received_at or current_time()
        wanted = {"company_id": company_id, "account_id": account_id, "amount": amount}

        async def unit(session: AsyncClientSession) -> tuple[Entry, Account, bool]:
            existing = await self.stores.payments.get(payment_id, session)
            if existing is not None:
                if any(existing[name] != value for name, value in wanted.items()):
                    raise IdempotencyKeyReused("this payment id was recorded for another payment")
                account = await self.stores.ledger.get(company_id, account_id, session)
                return _entry_of(existing), account, True
            posting = postings.payment(
                ordered_id("pst", at), company_id, account_id, amount, payment_id, at
            )
            after, entries = await self.post(posting, session)
            entry = next(e for e in entries if e.account_id == account_id)
            await self.stores.payments.insert(
                {
                    "_id": payment_id,
                    **wanted,
                    "received_at": at,
                    "entry": _entry_doc(entry),
                    "description": description[:DESCRIPTION_MAX],
                },
                session,
            )
            payload = events_pb2.PaymentReceived(
                company_id=company_id,
                account_id=account_id,
                payment_id=payment_id,
                amount=amount,
                balance_after=entry.balance_after,
            )
            await self._outbox.add(
                session, event(PAYMENT_RECEIVED, payload, company_id, account_id)
            )
            return entry, after[account_id], False

        return await self._once(unit)

    # ------------------------------------------------------------ transfers

    async def create_transfer(
        self,
        caller: Caller,
        key: str,
        from_account_id: str,
        to_account_id: str,
        amount: int,
        currency: str,
    ) -> tuple[Transfer, bool]:
        access = await self.company_access(caller, TRANSFER)
        key = checked_idempotency_key(key)
        request = checked_transfer(from_account_id, to_account_id, amount, currency)
        fingerprint = request_digest(
            {"from": request.from_account_id, "to": request.to_account_id, "amount": amount}
        )
        company_id = access.company_id

        async def unit(session: AsyncClientSession) -> tuple[Transfer, bool]:
            record = await self.stores.idempotency.find(company_id, "transfer", key, session)
            if record is not None:
                check_replay(record["digest"], fingerprint)
                return await self.stores.transfers.get(company_id, record["result_id"]), True
            now = current_time()
            transfer = Transfer(
                id=ordered_id("trf", now),
                company_id=company_id,
                from_account_id=request.from_account_id,
                to_account_id=request.to_account_id,
                amount=request.amount,
                status=COMPLETED,
                created_at=now,
                created_by=caller.user_id or "",
            )
            posting = postings.transfer(
                ordered_id("pst", now),
                company_id,
                transfer.from_account_id,
                transfer.to_account_id,
                transfer.amount,
                transfer.id,
                now,
            )
            # The donor's line is guarded: its available amount covers the transfer, or
            # nothing is written (checked and debited in one conditional update).
            await self.post(posting, session, guarded=(transfer.from_account_id,))
            await self.stores.transfers.insert(transfer, session)
            await self.stores.idempotency.insert(
                company_id, "transfer", key, fingerprint, transfer.id, now, session
            )
            payload = events_pb2.TransferCompleted(
                company_id=company_id,
                transfer_id=transfer.id,
                from_account_id=transfer.from_account_id,
                to_account_id=transfer.to_account_id,
                amount=transfer.amount,
            )
            await self._outbox.add(
                session, event(TRANSFER_COMPLETED, payload, company_id, transfer.id)
            )
            return transfer, False

        return await self._once(unit)

    async def list_transfers(
        self, caller: Caller, account_id: str, size: int, token: str
    ) -> tuple[list[Transfer], str]:
        access = await self.company_access(caller, VIEW)
        limit = page_size(size)
        before = decode_page_token(token)
        if before is not None and not isinstance(before, str):
            raise InvalidArgument(
                "the page token is not valid",
                {"page_token": "use the token from the previous page"},
            )
        if account_id:
            await self.stores.ledger.get(access.company_id, account_id)
        found = await self.stores.transfers.page(access.company_id, account_id, before, limit + 1)
        next_token = encode_page_token(found[limit - 1].id) if len(found) > limit else ""
        return found[:limit], next_token

    # ------------------------------------------------------------ promised payments

    async def take_promise(
        self, caller: Caller, key: str, account_id: str, amount: int, currency: str
    ) -> tuple[PromisedPayment, bool]:
        access = await self.company_access(caller, PROMISE)
        key = checked_idempotency_key(key)
        checked_amount(amount, currency)
        fingerprint = request_digest({"account": account_id, "amount": amount})
        company_id = access.company_id
        scope = f"promise:{account_id}"

        async def unit(session: AsyncClientSession) -> tuple[PromisedPayment, bool]:
            record = await self.stores.idempotency.find(company_id, scope, key, session)
            if record is not None:
                check_replay(record["digest"], fingerprint)
                doc = await self.stores.promises.get(company_id, record["result_id"], session)
                return promise_from(doc or {}), True
            now = current_time()
            account = await self.stores.ledger.get(company_id, account_id, session)
            is_open = await self.stores.promises.open_of(company_id, account_id, session)
            charged = await self.stores.ledger.charged_between(
                company_id, account_id, *averaged_window(now)
            )
            check_promise(account, amount, is_open is not None, cap(charged))
            promise = new_promise(ordered_id("prm", now), account, amount, now)
            await self.stores.promises.insert(promise, session)
            await self.post(
                postings.promise(
                    ordered_id("pst", now), company_id, account_id, amount, promise.id, now
                ),
                session,
            )
            await self.stores.idempotency.insert(
                company_id, scope, key, fingerprint, promise.id, now, session
            )
            await self._outbox.add(session, _promise_event(PROMISE_TAKEN, promise))
            return promise, False

        return await self._once(unit)

    async def list_promises(
        self, caller: Caller, account_id: str
    ) -> tuple[list[PromisedPayment], int]:
        """The account's promised payments, newest first, and what may be promised now."""
        access = await self.company_access(caller, VIEW)
        account = await self.stores.ledger.get(access.company_id, account_id)
        found = await self.stores.promises.of_account(access.company_id, account_id)
        charged = await self.stores.ledger.charged_between(
            access.company_id, account_id, *averaged_window(current_time())
        )
        is_open = any(p.status == "open" for p in found)
        return found, current_cap(account, is_open, charged)

    async def repay_due(self, now: datetime | None = None) -> int:
        """Repays every promised payment whose term ended; safe with several replicas (a
        promise is closed by one conditional write, in the transaction of its repayment)."""
        now = now or current_time()
        repaid = 0
        for promise in await self.stores.promises.due(now):

            async def unit(session: AsyncClientSession, promise: PromisedPayment = promise) -> bool:
                if not await self.stores.promises.close(promise, now, session):
                    return False  # another replica repaid it
                posting = postings.repayment(
                    ordered_id("pst", now),
                    promise.company_id,
                    promise.account_id,
                    promise.amount,
                    promise.id,
                    now,
                )
                await self.post(posting, session)
                await self._outbox.add(session, _promise_event(PROMISE_REPAID, promise))
                return True

            repaid += int(await self._tx.run(unit))
        return repaid

    async def remind_due(self, now: datetime | None = None) -> int:
        """Tells the company, once per promised payment, that it is repaid within a day;
        safe with several replicas (each is marked told by one conditional write, in the
        transaction of its event)."""
        now = now or current_time()
        told = 0
        for promise in await self.stores.promises.to_remind(now + REMIND_BEFORE):
            if not reminder_due(promise, now):
                continue

            async def unit(session: AsyncClientSession, promise: PromisedPayment = promise) -> bool:
                if not await self.stores.promises.mark_reminded(promise, now, session):
                    return False
                account = await self.stores.ledger.get(
                    promise.company_id, promise.account_id, session
                )
                payload = events_pb2.PromisedPaymentDue(
                    company_id=promise.company_id,
                    account_id=promise.account_id,
                    promised_payment_id=promise.id,
                    amount=promise.amount,
                    due_at=promise.due_at.isoformat(),
                    account_number=account.number,
                )
                await self._outbox.add(
                    session, event(PROMISE_DUE, payload, promise.company_id, promise.account_id)
                )
                return True

            told += int(await self._tx.run(unit))
        return told

    # ------------------------------------------------------------ helpers

    async def _once(self, unit: Callable[[AsyncClientSession], Awaitable[T]]) -> T:
        """Runs a unit keyed by an idempotency record: when a concurrent request with the
        same key committed first, this one's insert fails and the unit runs again, now
        finding the record and answering its result."""
        for _ in range(KEY_ATTEMPTS):
            try:
                return await self._tx.run(unit)
            except DuplicateKeyError:
                continue
        raise Conflict("the request collided with another one; try again")


def _promise_event(event_type: str, promise: PromisedPayment) -> Any:
    payload = events_pb2.PromisedPaymentChanged(
        company_id=promise.company_id,
        account_id=promise.account_id,
        promised_payment_id=promise.id,
        amount=promise.amount,
        due_at=promise.due_at.isoformat(),
    )
    return event(event_type, payload, promise.company_id, promise.account_id)


def _entry_doc(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "posting_id": entry.posting_id,
        "account_id": entry.account_id,
        "company_id": entry.company_id,
        "at": entry.at,
        "kind": entry.kind,
        "amount": entry.amount,
        "balance_after": entry.balance_after,
        "ref": entry.ref,
        "description": entry.description,
    }


def _entry_of(payment: dict[str, Any]) -> Entry:
    return Entry(**payment["entry"])
