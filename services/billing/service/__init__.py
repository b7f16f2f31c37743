"""Billing's use cases, one class per area, wired together here: each loads through the
stores, asks the domain, and saves with its outbox events in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from services.billing.service.accounts import AccountCases
from services.billing.service.base import Stores
from services.billing.service.money import MoneyCases
from services.billing.service.numbers import NumberAccountCases
from services.billing.service.usage import UsageCases
from services.kit.caller_access import CallerAccessResolver
from services.kit.delivery import MailSender, SmsCentre
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox


@dataclass(frozen=True)
class BillingCases:
    stores: Stores
    accounts: AccountCases
    money: MoneyCases
    numbers: NumberAccountCases
    usage: UsageCases

    @classmethod
    def create(
        cls,
        db: AsyncDatabase,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
        *,
        sms: SmsCentre | None = None,
        mail: MailSender | None = None,
    ) -> BillingCases:
        stores = Stores.create(db)
        common = (stores, transactions, outbox, access)
        accounts = AccountCases(*common)
        numbers = NumberAccountCases(*common, accounts=accounts)
        return cls(
            stores=stores,
            accounts=accounts,
            money=MoneyCases(*common),
            numbers=numbers,
            usage=UsageCases(*common, numbers=numbers, sms=sms, mail=mail),
        )

    async def ensure_indexes(self) -> None:
        await self.stores.ensure_indexes()
