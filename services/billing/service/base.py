"""What billing's use cases share: the stores, the caller's access, events, and writing a
posting together with what it causes (a financial block set or lifted)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from services.billing.domain.accounts import Account
from services.billing.domain.ledger import Entry, Posting
from services.billing.domain.low_balance import fell_below
from services.billing.store.contacts import Contacts
from services.billing.store.ledger import LedgerStore
from services.billing.store.money import (
    IdempotencyStore,
    PaymentStore,
    PromiseStore,
    SettlementRequestStore,
    TransferStore,
)
from services.billing.store.numbers import NodeCopy, NumberCopy
from services.billing.store.usage import FeeStore, LimitStore, UsageStore
from services.kit import single_operation as single
from services.kit.authz import Access
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import DomainError, InvalidArgument, NotFound, PermissionDenied
from services.kit.events import Event, new_event
from services.kit.known_companies import KnownCompanies
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from vm.billing.events.v1 import events_pb2

SOURCE = "/services/billing"
PAYMENT_RECEIVED = "vm.billing.payment.received.v1"
TRANSFER_COMPLETED = "vm.billing.transfer.completed.v1"
BALANCE_EXHAUSTED = "vm.billing.account.balance_exhausted.v1"
BALANCE_RESTORED = "vm.billing.account.balance_restored.v1"
LIMIT_REACHED = "vm.billing.limit.reached.v1"
LIMIT_RESET = "vm.billing.limit.reset.v1"
NUMBER_ACCOUNT_CHANGED = "vm.billing.number.account_changed.v1"
SETTLEMENT_REQUESTED = "vm.billing.settlement_change.requested.v1"
SETTLEMENT_DECIDED = "vm.billing.settlement_change.decided.v1"
ACCOUNT_OPENED = "vm.billing.account.opened.v1"
ACCOUNT_CHANGED = "vm.billing.account.changed.v1"
PROMISE_TAKEN = "vm.billing.promised_payment.taken.v1"
PROMISE_REPAID = "vm.billing.promised_payment.repaid.v1"
PROMISE_DUE = "vm.billing.promised_payment.due.v1"
BALANCE_LOW = "vm.billing.account.balance_low.v1"

VIEW = "finance.view"
TRANSFER = "finance.transfer"
PROMISE = "finance.promised_payment"
SETTINGS = "finance.settings"
NUMBERS_VIEW = "numbers.view"
NUMBERS_LIMITS = "numbers.limits"


@dataclass(frozen=True)
class Stores:
    ledger: LedgerStore
    idempotency: IdempotencyStore
    transfers: TransferStore
    payments: PaymentStore
    promises: PromiseStore
    settlement: SettlementRequestStore
    nodes: NodeCopy
    numbers: NumberCopy
    usage: UsageStore
    limits: LimitStore
    fees: FeeStore
    companies: KnownCompanies
    contacts: Contacts

    @classmethod
    def create(cls, db: AsyncDatabase) -> Stores:
        return cls(
            ledger=LedgerStore(db),
            idempotency=IdempotencyStore(db),
            transfers=TransferStore(db),
            payments=PaymentStore(db),
            promises=PromiseStore(db),
            settlement=SettlementRequestStore(db),
            nodes=NodeCopy(db),
            numbers=NumberCopy(db),
            usage=UsageStore(db),
            limits=LimitStore(db),
            fees=FeeStore(db),
            companies=KnownCompanies(db),
            contacts=Contacts(db),
        )

    async def ensure_indexes(self) -> None:
        for store in (
            self.ledger,
            self.idempotency,
            self.transfers,
            self.payments,
            self.promises,
            self.settlement,
            self.nodes,
            self.numbers,
            self.usage,
            self.limits,
            self.fees,
        ):
            await store.ensure_indexes()


def current_time() -> datetime:
    """Now, to the millisecond: what MongoDB keeps, so an answer given again from the
    database is the same as the first."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def ordered_id(prefix: str, at: datetime) -> str:
    """An id that sorts by time of making (keyset pages, newest first) and is still
    unguessable."""
    return f"{prefix}_{int(at.timestamp() * 1_000_000):014x}{secrets.token_urlsafe(9)}"


def event(
    event_type: str, payload: Message | dict[str, Any], company_id: str, subject: str
) -> Event:
    return new_event(event_type, payload, source=SOURCE, company_id=company_id, subject=subject)


@dataclass(frozen=True)
class Acting:
    """Whom a call acts for: the company, and (for a company caller) its access; the
    operator acting for a company has no access object and names the actor."""

    company_id: str
    actor: str
    access: Access | None = None

    def require_number(self, permission: str, path: tuple[str, ...]) -> None:
        """A number outside the caller's subtrees is not found, never forbidden."""
        if self.access is not None and not self.access.allows(permission, path):
            raise NotFound("no such number")

    def scoped_for(self, permission: str) -> bool:
        """Whether where a number is decides if the caller reaches it with `permission`
        (held in subtrees only, or not at all), as opposed to everywhere in the company."""
        return self.access is not None and self.access.nodes_with(permission) is not None


# Billing's single-number calls as operations of the journal: type → (the permission it
# needs, how a person reads it); the bulk types' names.
SINGLE_OPERATIONS: dict[str, tuple[str, str]] = {
    "set_limit": (NUMBERS_LIMITS, "Установка лимита"),
    "remove_limit": (NUMBERS_LIMITS, "Удаление лимита"),
    "move_to_account": (SETTINGS, "Перенос номера на другой лицевой счёт"),
}


class Cases:
    """The base of each area's use cases."""

    def __init__(
        self,
        stores: Stores,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
    ) -> None:
        self.stores = stores
        self._tx = transactions
        self._outbox = outbox
        self._access = access

    def single_operation(
        self, caller: Caller, acting: Acting, operation_type: str, msisdn: str
    ) -> single.SingleOperation | None:
        """A company caller's call on one number, as the journal's operation (None for the
        operator acting for a company: that is a number of catalog's bulk operation)."""
        if acting.access is None:
            return None
        permission, title = SINGLE_OPERATIONS[operation_type]
        return single.SingleOperation(
            service="billing",
            company_id=acting.company_id,
            type=operation_type,
            title=title,
            permission=permission,
            target=msisdn,
            created_by=caller.user_id or "",
            at=current_time(),
        )

    async def tell_operation(
        self,
        op: single.SingleOperation | None,
        outcome: single.Outcome,
        session: AsyncClientSession,
    ) -> None:
        if op is not None:
            await self._outbox.add(session, single.operation_event(op, outcome, source=SOURCE))

    async def tell_refusal(self, op: single.SingleOperation | None, refusal: DomainError) -> None:
        """A refused call, told in a transaction of its own (the change's rolled back)."""
        if op is None:
            return

        async def write(session: AsyncClientSession) -> None:
            await self.tell_operation(op, single.refused(refusal), session)

        await self._tx.run(write)

    async def company_access(self, caller: Caller, permission: str) -> Access:
        access = await self._access.access(caller)
        access.require(permission)
        return access

    async def acting(
        self, caller: Caller, permission: str, company_id: str = "", actor: str = ""
    ) -> Acting:
        """A company caller holding `permission` somewhere, or the operator for a named
        company (a bulk operation of catalog acting for `actor`)."""
        if caller.is_operator:
            if not company_id:
                raise InvalidArgument("name the company", {"company_id": "the company's id"})
            await self.stores.companies.get(company_id)
            return Acting(company_id, actor or "operator")
        access = await self._access.access(caller)
        nodes = access.nodes_with(permission)
        if nodes is not None and not nodes:
            raise PermissionDenied(f"you do not have the permission {permission!r}")
        return Acting(access.company_id, caller.user_id or "", access)

    async def number_path(self, company_id: str, number: dict[str, Any]) -> tuple[str, ...]:
        return await self.stores.nodes.path(company_id, number.get("node_id") or "")

    async def post(
        self, posting: Posting, session: AsyncClientSession, *, guarded: tuple[str, ...] = ()
    ) -> tuple[dict[str, Account], list[Entry]]:
        """Writes the posting and what it causes: an account whose balance became exhausted
        (or stopped being so) has its flag turned and its event written, in the same
        transaction, so a block is neither applied twice nor missed."""
        after, entries = await self.stores.ledger.post(posting, session, guarded=guarded)
        moved = {line.account_id: line.amount for line in posting.lines}
        for account in after.values():
            await self.follow_balance(account, session)
            await self.warn_low_balance(account, account.balance - moved[account.id], session)
        return after, entries

    async def warn_low_balance(
        self, account: Account, before: int, session: AsyncClientSession
    ) -> None:
        """Tells the company once its balance fell below the threshold it chose (every
        balance change is a posting, so this one place sees them all)."""
        threshold = account.low_balance_threshold
        if not fell_below(threshold, before, account.balance):
            return
        payload = events_pb2.AccountBalanceLow(
            company_id=account.company_id,
            account_id=account.id,
            balance=account.balance,
            threshold=threshold,
            account_number=account.number,
        )
        await self._outbox.add(session, event(BALANCE_LOW, payload, account.company_id, account.id))

    async def follow_balance(self, account: Account, session: AsyncClientSession) -> None:
        if account.exhausted == account.blocked:
            return
        version = await self.stores.ledger.mark_blocked(
            account.company_id, account.id, account.exhausted, session
        )
        msisdns = await self.stores.numbers.of_account(account.company_id, account.id, session)
        payload = events_pb2.AccountBalanceChanged(
            company_id=account.company_id,
            account_id=account.id,
            balance=account.balance,
            available=account.available,
            msisdns=msisdns,
            version=version,
            account_number=account.number,
        )
        event_type = BALANCE_EXHAUSTED if account.exhausted else BALANCE_RESTORED
        await self._outbox.add(session, event(event_type, payload, account.company_id, account.id))
