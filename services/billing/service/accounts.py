"""Billing's use cases: the company's accounts — opening, the list and the card, the
statement, the settlement method (with the operator's decision) and bill delivery.

Who may: reading needs finance.view, changing finance.settings (company-level); the
operator opens accounts for a company and decides settlement-method requests.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.billing.domain import accounts as rules
from services.billing.domain.accounts import ADVANCE, CREDIT, Account, BillDelivery
from services.billing.domain.ledger import Entry
from services.billing.domain.low_balance import checked_threshold
from services.billing.domain.usage import parse_moment
from services.billing.service.base import (
    ACCOUNT_CHANGED,
    ACCOUNT_OPENED,
    NUMBER_ACCOUNT_CHANGED,
    SETTINGS,
    SETTLEMENT_DECIDED,
    SETTLEMENT_REQUESTED,
    VIEW,
    Cases,
    current_time,
    event,
    ordered_id,
)
from services.billing.store.money import PENDING
from services.kit.context import Caller
from services.kit.errors import InvalidArgument, NotAllowed, NotFound, PermissionDenied
from services.kit.events import Event
from services.kit.paging import decode_page_token, encode_page_token, page_size
from vm.billing.events.v1 import events_pb2

APPROVED = "approved"
REFUSED = "refused"
COMMENT_MAX = 1000
# Numbers told per outbox insert when a first account takes a company's numbers.
EVENT_CHUNK = 1_000


def account_changed(account: Account, event_type: str = ACCOUNT_CHANGED) -> Event:
    payload = events_pb2.AccountChanged(
        company_id=account.company_id,
        account_id=account.id,
        number=account.number,
        settlement_method=account.settlement_method,
        credit_limit=account.credit_limit,
    )
    return event(event_type, payload, account.company_id, account.id)


def number_account_changed(
    company_id: str, msisdn: str, account: Account, previous: str, version: int
) -> Event:
    """`version`: the number's move version (store/numbers.py); the account's block comes
    with its own version, so a consumer keeps the newest of both."""
    payload = events_pb2.NumberAccountChanged(
        company_id=company_id,
        msisdn=msisdn,
        account_id=account.id,
        previous_account_id=previous,
        financial_block=account.blocked,
        version=version,
        account_block_version=account.block_version,
    )
    return event(NUMBER_ACCOUNT_CHANGED, payload, company_id, msisdn)


class AccountCases(Cases):
    # ------------------------------------------------------------ reading

    async def list_accounts(
        self, caller: Caller, size: int, token: str
    ) -> tuple[list[Account], dict[str, dict[str, Any]], str]:
        access = await self.company_access(caller, VIEW)
        limit = page_size(size)
        accounts = await self._with_counts(access.company_id)
        after = decode_page_token(token)
        if after is not None:
            ids = [a.id for a in accounts]
            accounts = accounts[ids.index(after) + 1 :] if after in ids else []
        page = accounts[:limit]
        next_token = encode_page_token(page[-1].id) if len(accounts) > limit else ""
        pending = await self.stores.settlement.pending_of(access.company_id, [a.id for a in page])
        return page, pending, next_token

    async def get_account(
        self, caller: Caller, account_id: str
    ) -> tuple[Account, dict[str, Any] | None]:
        access = await self.company_access(caller, VIEW)
        return await self.card(access.company_id, account_id)

    async def card(self, company_id: str, account_id: str) -> tuple[Account, dict[str, Any] | None]:
        account = await self.stores.ledger.get(company_id, account_id)
        count = len(await self.stores.numbers.of_account(company_id, account_id))
        pending = await self.stores.settlement.pending_of(company_id, [account_id])
        return replace(account, number_count=count), pending.get(account_id)

    async def _with_counts(self, company_id: str) -> list[Account]:
        counts = await self.stores.numbers.counts(company_id)
        accounts = await self.stores.ledger.of_company(company_id)
        return [replace(a, number_count=counts.get(a.id, 0)) for a in accounts]

    async def statement(
        self, caller: Caller, account_id: str, start: str, end: str, size: int, token: str
    ) -> tuple[list[Entry], str]:
        access = await self.company_access(caller, VIEW)
        return await self._statement(access.company_id, account_id, start, end, size, token)

    async def operator_statement(
        self,
        caller: Caller,
        company_id: str,
        account_id: str,
        start: str,
        end: str,
        size: int,
        token: str,
    ) -> tuple[list[Entry], str, int]:
        """The statement for the operator's systems (documents), with the balance at
        `start`: (entries, next page token, opening balance)."""
        _require_operator(caller)
        entries, next_token = await self._statement(company_id, account_id, start, end, size, token)
        opening = parse_moment(start, "from")
        ledger = self.stores.ledger
        before = 0 if opening is None else await ledger.balance_at(company_id, account_id, opening)
        return entries, next_token, before

    async def _statement(
        self, company_id: str, account_id: str, start: str, end: str, size: int, token: str
    ) -> tuple[list[Entry], str]:
        limit = page_size(size)
        window_start, window_end = parse_moment(start, "from"), parse_moment(end, "to")
        await self.stores.ledger.get(company_id, account_id)
        if window_start and window_end and window_end <= window_start:
            return [], ""  # an empty period holds no entries
        found = await self.stores.ledger.entries(
            company_id, account_id, window_start, window_end, _after(token), limit + 1
        )
        page = found[:limit]
        next_token = (
            encode_page_token([page[-1].at.isoformat(), page[-1].id]) if len(found) > limit else ""
        )
        return page, next_token

    # ------------------------------------------------------------ opening

    async def open_account(
        self, caller: Caller, name: str, delivery: BillDelivery | None
    ) -> Account:
        access = await self.company_access(caller, SETTINGS)
        return await self.open(access.company_id, name, ADVANCE, 0, delivery)

    async def operator_open_account(
        self,
        caller: Caller,
        company_id: str,
        name: str,
        method: str,
        credit_limit: int,
        delivery: BillDelivery | None,
    ) -> Account:
        _require_operator(caller)
        await self.stores.companies.get(company_id)
        method = rules.checked_method(method or ADVANCE)
        limit = rules.checked_credit_limit(credit_limit) if method == CREDIT else 0
        return await self.open(company_id, name, method, limit, delivery)

    async def open(
        self,
        company_id: str,
        name: str,
        method: str,
        credit_limit: int,
        delivery: BillDelivery | None,
        session: AsyncClientSession | None = None,
    ) -> Account:
        """A new, empty account. The company's first account takes every number that has
        none yet (numbers given out before the company had an account)."""
        name = rules.checked_name(name)
        if delivery is not None:
            delivery = rules.checked_bill_delivery(delivery.method, delivery.address)
        else:
            delivery = await self._default_delivery(company_id)
        now = current_time()
        account = Account(
            id=ordered_id("acc", now),
            company_id=company_id,
            number=rules.account_number(secrets.randbelow(10**10)),
            settlement_method=method,
            opened_at=now,
            name=name,
            credit_limit=credit_limit,
            bill_delivery=delivery,
        )

        async def write(session: AsyncClientSession) -> Account:
            first = await self.stores.ledger.first_of(company_id, session) is None
            if first:
                await self.stores.numbers.guard(company_id, session)
            await self.stores.ledger.insert(account, session)
            await self._outbox.add(session, account_changed(account, ACCOUNT_OPENED))
            if first:
                await self._take_unassigned(account, session)
            return account

        if session is not None:
            return await write(session)
        for _ in range(3):  # a clash of the random account number: draw another
            try:
                return await self._tx.run(write)
            except DuplicateKeyError:
                account = replace(account, number=rules.account_number(secrets.randbelow(10**10)))
        raise RuntimeError("no free account number after three draws")

    async def _take_unassigned(self, account: Account, session: AsyncClientSession) -> None:
        msisdns = await self.stores.numbers.of_account(account.company_id, "", session)
        if not msisdns:
            return
        versions = await self.stores.numbers.set_account(
            account.company_id, msisdns, account.id, session
        )
        for start in range(0, len(msisdns), EVENT_CHUNK):
            chunk = msisdns[start : start + EVENT_CHUNK]
            await self._outbox.add(
                session,
                *(
                    number_account_changed(account.company_id, m, account, "", versions[m])
                    for m in chunk
                ),
            )

    async def _default_delivery(self, company_id: str) -> BillDelivery:
        await self.stores.companies.get(company_id)
        contact = await self.stores.contacts.get(company_id)
        return BillDelivery(rules.EMAIL, contact.get("contact_email", ""))

    # ------------------------------------------------------------ changing

    async def set_bill_delivery(
        self, caller: Caller, account_id: str, method: str, address: str
    ) -> Account:
        access = await self.company_access(caller, SETTINGS)
        delivery = rules.checked_bill_delivery(method, address)

        async def write(session: AsyncClientSession) -> Account:
            account = await self.stores.ledger.get(access.company_id, account_id, session)
            saved = await self.stores.ledger.save_terms(
                replace(account, bill_delivery=delivery), session
            )
            await self._outbox.add(session, account_changed(saved))
            return saved

        return await self._tx.run(write)

    async def set_low_balance_threshold(
        self, caller: Caller, account_id: str, amount: int, currency: str
    ) -> Account:
        """Below this balance the company is told (account.balance_low); 0 turns it off.
        Setting it tells nothing by itself: only a later fall across it does."""
        access = await self.company_access(caller, SETTINGS)
        threshold = checked_threshold(amount, currency)

        async def write(session: AsyncClientSession) -> Account:
            account = await self.stores.ledger.get(access.company_id, account_id, session)
            saved = await self.stores.ledger.save_terms(
                replace(account, low_balance_threshold=threshold), session
            )
            await self._outbox.add(session, account_changed(saved))
            return saved

        return await self._tx.run(write)

    async def change_settlement_method(
        self, caller: Caller, account_id: str, method: str, credit_limit: int, currency: str
    ) -> tuple[Account, dict[str, Any] | None]:
        """Credit → advance at once; advance → credit opens a request (returned)."""
        access = await self.company_access(caller, SETTINGS)
        method = rules.checked_method(method)
        limit = rules.checked_credit_limit(credit_limit, currency) if method == CREDIT else 0
        now = current_time()

        async def write(session: AsyncClientSession) -> tuple[Account, dict[str, Any] | None]:
            account = await self.stores.ledger.get(access.company_id, account_id, session)
            if method == ADVANCE:
                saved = await self.stores.ledger.save_terms(rules.to_advance(account), session)
                await self.follow_balance(saved, session)
                await self._outbox.add(session, account_changed(saved))
                return saved, None
            pending = await self.stores.settlement.pending_of(
                access.company_id, [account.id], session
            )
            rules.check_credit_request(account, bool(pending))
            who = caller.user_id or ""
            request = _request_doc(
                account, limit, who, await self.stores.contacts.user_name(who), now
            )
            await self.stores.settlement.insert(request, session)
            await self._outbox.add(session, _requested(request))
            return account, request

        return await self._tx.run(write)

    # ------------------------------------------------------------ the operator

    async def company_accounts(self, caller: Caller, company_id: str) -> list[Account]:
        _require_operator(caller)
        await self.stores.companies.get(company_id)
        return await self._with_counts(company_id)

    async def settlement_requests(self, caller: Caller, company_id: str) -> list[dict[str, Any]]:
        _require_operator(caller)
        return await self.stores.settlement.pending(company_id)

    async def decide(
        self, caller: Caller, request_id: str, approve: bool, comment: str
    ) -> tuple[dict[str, Any], Account]:
        _require_operator(caller)
        comment = comment.strip()
        if len(comment) > COMMENT_MAX:
            raise InvalidArgument(
                "the comment is too long", {"comment": f"at most {COMMENT_MAX} characters"}
            )
        now = current_time()

        async def write(session: AsyncClientSession) -> tuple[dict[str, Any], Account]:
            request = await self.stores.settlement.get(request_id, session)
            if request is None:
                raise NotFound("no such request")
            decided = await self.stores.settlement.decide(
                request_id, APPROVED if approve else REFUSED, comment, now, session
            )
            if decided is None:
                raise NotAllowed(
                    f"the request was {request['status']} already", reason="ALREADY_DECIDED"
                )
            account = await self.stores.ledger.get(
                request["company_id"], request["account_id"], session
            )
            if approve:
                account = await self.stores.ledger.save_terms(
                    rules.to_credit(account, request["credit_limit"]), session
                )
                await self.follow_balance(account, session)
                await self._outbox.add(session, account_changed(account))
            await self._outbox.add(session, _decided(decided, approve))
            return decided, account

        return await self._tx.run(write)


def _request_doc(
    account: Account, credit_limit: int, user_id: str, user_name: str, now: datetime
) -> dict[str, Any]:
    return {
        "_id": ordered_id("stl", now),
        "company_id": account.company_id,
        "account_id": account.id,
        "account_number": account.number,
        "method": CREDIT,
        "credit_limit": credit_limit,
        "status": PENDING,
        "requested_by": user_id,
        "requested_by_name": user_name,
        "requested_at": now,
        "decided_at": None,
        "comment": "",
    }


def _requested(request: dict[str, Any]) -> Event:
    payload = events_pb2.SettlementChangeRequested(
        company_id=request["company_id"],
        request_id=request["_id"],
        account_id=request["account_id"],
        account_number=request["account_number"],
        method=request["method"],
        credit_limit=request["credit_limit"],
        requested_by=request["requested_by"],
        requested_by_name=request.get("requested_by_name") or request["requested_by"],
    )
    return event(SETTLEMENT_REQUESTED, payload, request["company_id"], request["account_id"])


def _decided(request: dict[str, Any], approved: bool) -> Event:
    payload = events_pb2.SettlementChangeDecided(
        company_id=request["company_id"],
        request_id=request["_id"],
        account_id=request["account_id"],
        approved=approved,
        comment=request.get("comment", ""),
    )
    return event(SETTLEMENT_DECIDED, payload, request["company_id"], request["account_id"])


def _after(token: str) -> tuple[datetime, str] | None:
    after = decode_page_token(token)
    if after is None:
        return None
    try:
        at, entry_id = after
        return datetime.fromisoformat(at), str(entry_id)
    except (TypeError, ValueError) as error:
        raise InvalidArgument(
            "the page token is not valid", {"page_token": "use the token from the previous page"}
        ) from error


def _require_operator(caller: Caller) -> None:
    if not caller.is_operator:
        raise PermissionDenied("this is the operator's")
