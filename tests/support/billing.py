"""Billing's use cases on a real database for integration tests: a company known to
billing, callers, and the ledger's invariants read straight from the database."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from services.billing.domain.accounts import available
from services.billing.service import BillingCases
from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.events import new_event
from services.kit.mongo import Transactions, connect_mongo
from services.kit.outbox import Outbox
from services.kit.settings import Settings
from vm.identity.events.v1 import events_pb2 as identity_events

OPERATOR = Caller(kind="operator")
EVERY_FINANCE_PERMISSION = frozenset(
    {
        "finance.view",
        "finance.transfer",
        "finance.promised_payment",
        "finance.settings",
        "numbers.view",
        "numbers.limits",
    }
)


class CompanyWideAccess:
    """What identity would answer for a company-wide administrator of each company: the
    services' only question to identity, answered here without it."""

    async def access(self, caller: Caller) -> Access:
        return Access(caller.company_id or "", {None: EVERY_FINANCE_PERMISSION})


def user_of(company_id: str, user_id: str = "usr_test") -> Caller:
    return Caller(kind="user", company_id=company_id, user_id=user_id, token="t")


@dataclass
class Billing:
    cases: BillingCases
    db: AsyncDatabase

    async def known_company(self, company_id: str) -> None:
        created = new_event(
            "vm.identity.company.created.v1",
            identity_events.CompanyCreated(
                company_id=company_id,
                name="ООО Тест",
                inn="7700000009",
                main_number="79160000000",
                contact_email="buh@test.example",
            ),
            source="/tests",
        )
        transactions = self.cases.accounts._tx
        await transactions.run(
            lambda session: self.cases.stores.companies.record_company_created(created, session)
        )

    async def ledger_problems(self) -> list[str]:
        """What breaks double entry: entries not summing to zero (per posting and in all),
        a balance other than its entries' sum, a stored available amount out of step."""
        problems: list[str] = []
        per_account: dict[str, int] = defaultdict(int)
        per_posting: dict[str, int] = defaultdict(int)
        async for entry in self.db["entries"].find({}):
            per_account[entry["account_id"]] += entry["amount"]
            per_posting[entry["posting_id"]] += entry["amount"]
        if sum(per_account.values()) != 0:
            problems.append(f"entries sum to {sum(per_account.values())}")
        problems += [f"posting {p} sums to {s}" for p, s in per_posting.items() if s]
        async for account in self.db["accounts"].find({}):
            if account["balance"] != per_account.get(account["_id"], 0):
                problems.append(f"{account['_id']}: balance {account['balance']} ≠ entries")
            if account["company_id"] != "operator":
                wanted = available(
                    account["settlement_method"], account["balance"], account["credit_limit"]
                )
                if account["available"] != wanted:
                    problems.append(f"{account['_id']}: available {account['available']}")
        return problems


@asynccontextmanager
async def billing_cases(settings: Settings) -> AsyncIterator[Billing]:
    mongo = connect_mongo(settings.mongo_url, app_name="billing-tests")
    db = mongo.get_database(settings.database_name("billing"))
    cases = BillingCases.create(db, Transactions(mongo), Outbox(db), CompanyWideAccess())
    await cases.ensure_indexes()
    try:
        yield Billing(cases, db)
    finally:
        await mongo.close()
