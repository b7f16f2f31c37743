"""A stateful property test of billing's money against a real SecantusDB: Hypothesis
drives payments, usage charges (and repeated usage records), transfers (with reused
idempotency keys and bad amounts), promised payments and their repayment through the use
cases, and after every step checks, against a model and the database:

- every posting's entries, and all entries together, sum to zero;
- every balance (the operator's accounts too) equals the sum of its entries, and the
  stored available amount is the balance (plus the credit limit on credit);
- no transfer ever left its donor below its floor (available zero);
- each idempotency key took effect at most once (one transfer per applied key);
- the balances are what the model says.

The machine runs in a thread with an event loop of its own (Hypothesis's stateful runner
is synchronous), on the test's own database.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from services.billing.domain.accounts import ADVANCE, CREDIT, available
from services.billing.domain.promised_payments import CAP_FLOOR
from services.billing.service.usage import RawRecord
from services.billing.store.numbers import AddedNumber
from services.kit.errors import (
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidArgument,
    NotAllowed,
)
from services.kit.settings import Settings
from tests.support.billing import OPERATOR, billing_cases, user_of

pytestmark = pytest.mark.integration

CREDIT_LIMIT = 50_000
METHODS = (ADVANCE, ADVANCE, CREDIT)
KEYS = st.sampled_from([f"key{n}" for n in range(5)])
ACCOUNT = st.integers(min_value=0, max_value=2)


async def _one(items: list[RawRecord]):
    yield items


class LedgerMachine(RuleBasedStateMachine):
    db_settings: ClassVar[Settings]

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.opened = billing_cases(self.db_settings)
        self.billing = self.run(self.opened.__aenter__())
        self.cases = self.billing.cases
        self.company = f"cmp_{secrets.token_hex(5)}"
        self.user = user_of(self.company)
        self.accounts: list[str] = []
        self.numbers: list[str] = []
        self.balances: list[int] = [0, 0, 0]
        self.keys: dict[str, tuple[tuple[int, int, int], str]] = {}
        self.open_promises: dict[int, int] = {}
        self.last_record: tuple[str, int] | None = None
        self.run(self._set_up())

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    async def _set_up(self) -> None:
        await self.billing.known_company(self.company)
        for method in METHODS:
            account = await self.cases.accounts.operator_open_account(
                OPERATOR, self.company, "", method, CREDIT_LIMIT if method == CREDIT else 0, None
            )
            self.accounts.append(account.id)
        for index in range(3):
            msisdn = f"79{secrets.randbelow(10**9):09d}"
            await self.cases.accounts._tx.run(
                lambda s, m=msisdn: self.cases.numbers.numbers_added(
                    self.company, [AddedNumber(m, "", "t")], s
                )
            )
            if index:
                await self.cases.numbers.move_to_account(
                    OPERATOR, msisdn, self.accounts[index], None, company_id=self.company
                )
            self.numbers.append(msisdn)

    def teardown(self) -> None:
        self.run(self.opened.__aexit__(None, None, None))
        self.loop.close()

    def available(self, index: int) -> int:
        return available(METHODS[index], self.balances[index], self.limit(index))

    @staticmethod
    def limit(index: int) -> int:
        return CREDIT_LIMIT if METHODS[index] == CREDIT else 0

    # ------------------------------------------------------------ rules

    @rule(index=ACCOUNT, amount=st.integers(min_value=1, max_value=100_000))
    def pay(self, index: int, amount: int) -> None:
        self.run(
            self.cases.money.record_payment(
                OPERATOR, uuid.uuid4().hex, self.company, self.accounts[index], amount, "RUB", None
            )
        )
        self.balances[index] += amount

    @rule(index=ACCOUNT, amount=st.integers(min_value=0, max_value=60_000))
    def charge_usage(self, index: int, amount: int) -> None:
        record_id = uuid.uuid4().hex
        self._ingest(record_id, index, amount)
        self.balances[index] -= amount
        self.last_record = (record_id, index)

    @rule()
    def usage_record_sent_again(self) -> None:
        if self.last_record is not None:
            record_id, index = self.last_record
            self._ingest(record_id, index, 1_000)  # a repeat: not charged again

    def _ingest(self, record_id: str, index: int, amount: int) -> None:
        record = RawRecord(record_id, self.numbers[index], "calls", amount, "RUB", 5, None)
        result = self.run(self.cases.usage.ingest(OPERATOR, _one([record])))
        assert result.rejected == 0, result.rejections

    @rule(
        src=ACCOUNT,
        dst=ACCOUNT,
        amount=st.integers(min_value=-10, max_value=90_000),
        key=KEYS | st.uuids().map(str),
    )
    def transfer(self, src: int, dst: int, amount: int, key: str) -> None:
        body = (src, dst, amount)
        call = self.cases.money.create_transfer(
            self.user, key, self.accounts[src], self.accounts[dst], amount, "RUB"
        )
        if amount <= 0:  # bad input is refused before the key is looked at
            with pytest.raises(InvalidArgument):
                self.run(call)
            return
        if src == dst:  # a rule across two fields: NotAllowed (409; it was InvalidArgument)
            with pytest.raises(NotAllowed):
                self.run(call)
            return
        if key in self.keys:
            first_body, first_id = self.keys[key]
            if first_body != body:
                with pytest.raises(IdempotencyKeyReused):
                    self.run(call)
                return
            transfer, replayed = self.run(call)
            assert replayed and transfer.id == first_id
            return
        if self.available(src) < amount:
            with pytest.raises(InsufficientFunds):
                self.run(call)
            return
        transfer, replayed = self.run(call)
        assert not replayed
        self.keys[key] = (body, transfer.id)
        self.balances[src] -= amount
        self.balances[dst] += amount

    @rule(index=ACCOUNT, amount=st.integers(min_value=1, max_value=60_000))
    def promise(self, index: int, amount: int) -> None:
        call = self.cases.money.take_promise(
            self.user, uuid.uuid4().hex, self.accounts[index], amount, "RUB"
        )
        if METHODS[index] != ADVANCE or index in self.open_promises:
            with pytest.raises(NotAllowed):
                self.run(call)
            return
        if amount > CAP_FLOOR:  # a new account's cap: nothing charged in earlier months
            with pytest.raises(NotAllowed, match="at most"):
                self.run(call)
            return
        self.run(call)
        self.open_promises[index] = amount
        self.balances[index] += amount

    @rule()
    def promised_payments_end(self) -> None:
        later = datetime.now(UTC) + timedelta(days=8)
        repaid = self.run(self.cases.money.repay_due(later))
        assert repaid >= len(self.open_promises)  # other machines' leftovers may be repaid too
        for index, amount in self.open_promises.items():
            self.balances[index] -= amount
        self.open_promises.clear()

    # ------------------------------------------------------------ invariants

    @invariant()
    def double_entry_holds(self) -> None:
        assert self.run(self.billing.ledger_problems()) == []

    @invariant()
    def balances_are_the_models(self) -> None:
        for index, account_id in enumerate(self.accounts):
            account = self.run(self.cases.stores.ledger.get(self.company, account_id))
            assert account.balance == self.balances[index], (index, account)

    @invariant()
    def no_transfer_left_a_donor_below_its_floor(self) -> None:
        entries = self.run(
            self.billing.db["entries"]
            .find({"company_id": self.company, "kind": "transfer", "amount": {"$lt": 0}})
            .to_list()
        )
        for entry in entries:
            index = self.accounts.index(entry["account_id"])
            assert entry["balance_after"] + self.limit(index) >= 0, entry

    @invariant()
    def each_key_took_effect_at_most_once(self) -> None:
        transfers = self.run(
            self.billing.db["transfers"].count_documents({"company_id": self.company})
        )
        assert transfers == len(self.keys)


async def test_money_keeps_double_entry_whatever_is_done(settings: Settings) -> None:
    LedgerMachine.db_settings = settings
    # Fewer than a random draw's 100 examples: each step is a real database round trip.
    await asyncio.to_thread(
        run_state_machine_as_test,
        LedgerMachine,
        settings=settings_for_machine(),
    )


def settings_for_machine() -> Any:
    return hypothesis_settings(
        max_examples=30,
        stateful_step_count=25,
        deadline=None,
        # No shrinking: each step is a database round trip, and a failure's whole run of
        # steps is printed anyway.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
