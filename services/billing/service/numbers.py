"""Billing's use cases: which account each number is billed to — catalog's numbers as
they arrive (a new number goes to the company's first account, or waits without one
until the company has an account), moving a number to another or a new account, and what
the number card shows of billing.

Who may: moving needs finance.settings (company-level; the operator may move for a
company, naming it — catalog's bulk operations); the card's part needs numbers.view where
the number is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.billing.domain.accounts import ADVANCE, Account, BillDelivery
from services.billing.domain.limits import SpendingLimit, period_of, spent_on
from services.billing.service.accounts import AccountCases, number_account_changed
from services.billing.service.base import NUMBERS_VIEW, SETTINGS, Cases, current_time
from services.billing.store.numbers import AddedNumber
from services.kit import single_operation as single
from services.kit.context import Caller
from services.kit.errors import Conflict, InvalidArgument, NotAllowed, NotFound
from services.kit.phone import normalize_msisdn


def checked_msisdn(raw: str) -> str:
    msisdn = normalize_msisdn(raw)
    if msisdn is None:
        raise InvalidArgument(
            "the number is not a mobile number",
            {"msisdn": "11 digits starting with 79, e.g. +7 916 123-45-67"},
        )
    return msisdn


class NumberAccountCases(Cases):
    def __init__(self, *args: Any, accounts: AccountCases, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._accounts = accounts

    # ------------------------------------------------------------ catalog's events

    async def numbers_added(
        self, company_id: str, added: Sequence[AddedNumber], session: AsyncClientSession
    ) -> None:
        """Catalog's new numbers of one company (a run of its events, in order): each one
        not known yet goes to the company's first account, or waits without one until the
        company opens an account. A handful of writes whatever the count."""
        first = await self.stores.ledger.first_of(company_id, session)
        if first is None:
            await self.stores.numbers.guard(company_id, session)
            await self.stores.numbers.added(company_id, added, session)
            return
        seen = await self.stores.numbers.known(company_id, [n.msisdn for n in added], session)
        billed: list[AddedNumber] = []
        for number in added:
            fresh = number.msisdn not in seen
            seen.add(number.msisdn)
            billed.append(replace(number, account_id=first.id if fresh else ""))
        await self.stores.numbers.added(company_id, billed, session)
        await self._outbox.add(
            session,
            *(
                number_account_changed(company_id, n.msisdn, first, "", version=1)
                for n in billed
                if n.account_id
            ),
        )

    async def numbers_changed(
        self, changes: Sequence[tuple[str, str, dict[str, Any]]], session: AsyncClientSession
    ) -> None:
        """Catalog's changes of numbers, (company, number, change) in order, to billing's
        copy in one write."""
        await self.stores.numbers.update(changes, session)

    async def number_replaced(
        self, company_id: str, old: str, new: str, node_id: str, session: AsyncClientSession
    ) -> None:
        await self.stores.numbers.rename(company_id, old, new, node_id, session)

    # ------------------------------------------------------------ moving a number

    async def move_to_account(
        self,
        caller: Caller,
        msisdn: str,
        account_id: str,
        new_account: tuple[str, BillDelivery | None] | None,
        company_id: str = "",
        actor: str = "",
    ) -> tuple[Account, str]:
        """To an existing account of the company, or to a new one opened for it; returns
        the account and the one the number was billed to before."""
        acting = await self.acting(caller, SETTINGS, company_id, actor)
        wanted = checked_msisdn(msisdn)
        if bool(account_id.strip()) == (new_account is not None):
            raise InvalidArgument(
                "name an account or ask for a new one",
                {"account_id": "an account of the company, or give new_account instead"},
            )
        company = acting.company_id
        journal = self.single_operation(caller, acting, "move_to_account", wanted)

        async def write(session: AsyncClientSession) -> tuple[Account, str]:
            number = await self.stores.numbers.get(company, wanted, session)
            if number is None:
                raise NotFound("no such number")
            if new_account is not None:
                name, delivery = new_account
                target = await self._accounts.open(company, name, ADVANCE, 0, delivery, session)
            else:
                target = await self.stores.ledger.get(company, account_id.strip(), session)
            previous = number.get("account_id") or ""
            if previous == target.id:
                raise NotAllowed(
                    "the number is billed to this account already", reason="SAME_ACCOUNT"
                )
            versions = await self.stores.numbers.set_account(company, [wanted], target.id, session)
            await self._outbox.add(
                session,
                number_account_changed(company, wanted, target, previous, versions[wanted]),
            )
            await self.tell_operation(journal, single.CHANGED, session)
            return target, previous

        try:
            target, previous = await self._tx.run(write)
        except (NotAllowed, Conflict) as refusal:
            await self.tell_refusal(journal, refusal)
            raise
        count = len(await self.stores.numbers.of_account(company, target.id))
        return replace(target, number_count=count), previous

    # ------------------------------------------------------------ the number card

    async def number_billing(
        self, caller: Caller, msisdn: str
    ) -> tuple[Account | None, list[tuple[SpendingLimit, int]]]:
        acting = await self.acting(caller, NUMBERS_VIEW)
        company_id = acting.company_id
        number = await self.visible_number(company_id, msisdn, NUMBERS_VIEW, acting)
        # The account and the limits are read together: the card waits for the slower.
        account, limits = await asyncio.gather(
            self._account_of(company_id, number.get("account_id") or ""),
            self.limits_with_spend(company_id, number["_id"]),
        )
        return account, limits

    async def _account_of(self, company_id: str, account_id: str) -> Account | None:
        return await self.stores.ledger.get(company_id, account_id) if account_id else None

    async def visible_number(
        self, company_id: str, msisdn: str, permission: str, acting: Any
    ) -> dict[str, Any]:
        """The number, if the caller reaches it with `permission` (else not found). Where
        it is in the hierarchy is read only for a caller who holds it in subtrees: for one
        who holds it company-wide (an administrator, an operator) the path changes nothing."""
        wanted = checked_msisdn(msisdn)
        number = await self.stores.numbers.get(company_id, wanted)
        if number is None:
            raise NotFound("no such number")
        if acting.scoped_for(permission):
            acting.require_number(permission, await self.number_path(company_id, number))
        return number

    async def limits_with_spend(
        self, company_id: str, msisdn: str
    ) -> list[tuple[SpendingLimit, int]]:
        period = period_of(current_time())
        limits, spend = await asyncio.gather(
            self.stores.limits.of_number(company_id, msisdn),
            self.stores.usage.spend(company_id, [msisdn], period),
        )
        spent = spend.get(msisdn, {})
        return [(limit, spent_on(limit.kind, spent)) for limit in limits]
