"""Catalog's use cases: the blocks the system sets and lifts — `financial` when billing says
an account's money ran out (and lifts it when the money is back), `limit` when a number
reached a spending limit with the block action (lifted when the month ends or the limit
changes) — and which account each number is billed to.

They run in the transaction of the billing event that causes them (the consumer's), the
same way as a customer's block: the domain decides, the network (provisioning) confirms,
then the number and its vm.catalog.number.blocked/unblocked.v1 event are written. A block
already set is not set again, one not set is not lifted: a repeated or late event changes
nothing. A refusal of the network fails the event, which is delivered again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.domain import operations as rules
from services.catalog.domain.numbers import Scope
from services.catalog.provisioning import BlockChange, Provisioning
from services.catalog.service.decisions import BLOCKED, UNBLOCKED, _block_event
from services.catalog.store.accounts import AccountLinks
from services.catalog.store.number_changes import NumberChanges
from services.catalog.store.numbers import NumberStore
from services.kit.outbox import Outbox

FINANCIAL = "financial"
LIMIT = "limit"


class SystemBlockCases:
    def __init__(
        self,
        numbers: NumberStore,
        changes: NumberChanges,
        links: AccountLinks,
        outbox: Outbox,
        provisioning: Provisioning,
    ) -> None:
        self._numbers = numbers
        self._changes = changes
        self._links = links
        self._outbox = outbox
        self._provisioning = provisioning

    async def ensure_indexes(self) -> None:
        await self._links.ensure_indexes()

    async def set_block(
        self,
        company_id: str,
        msisdns: Sequence[str],
        block_type: str,
        session: AsyncClientSession,
    ) -> int:
        """The system's block on each of the company's numbers that lacks it; returns
        how many got it."""
        now = datetime.now(UTC)
        changed = 0
        for number in await self._numbers.get_many(Scope(company_id), msisdns, session):
            if any(b.type == block_type for b in number.blocks):
                continue
            after = rules.with_block(number, block_type, now)
            await self._provisioning.apply(BlockChange(number.msisdn, block_type, set=True))
            await self._changes.save(after, session)
            await self._outbox.add(session, _block_event(BLOCKED, after, block_type))
            changed += 1
        return changed

    async def lift_block(
        self,
        company_id: str,
        msisdns: Sequence[str],
        block_type: str,
        session: AsyncClientSession,
    ) -> int:
        """The system's block lifted from each of the company's numbers that has it."""
        changed = 0
        for number in await self._numbers.get_many(Scope(company_id), msisdns, session):
            if not any(b.type == block_type for b in number.blocks):
                continue
            after = rules.without_block(number, block_type)
            await self._provisioning.apply(BlockChange(number.msisdn, block_type, set=False))
            await self._changes.save(after, session)
            await self._outbox.add(session, _block_event(UNBLOCKED, after, block_type))
            changed += 1
        return changed

    async def account_block_changed(
        self,
        company_id: str,
        account_id: str,
        msisdns: Sequence[str],
        blocked: bool,
        version: int,
        session: AsyncClientSession,
    ) -> int:
        """Billing says an account's money ran out (or is back) for its numbers; an event
        older than one applied already is ignored, so the end state is billing's last word
        whatever order the events are handled in."""
        if not await self._links.newer_block(company_id, account_id, version, session):
            return 0
        change = self.set_block if blocked else self.lift_block
        return await change(company_id, msisdns, FINANCIAL, session)

    async def number_billed_to(
        self,
        company_id: str,
        msisdn: str,
        account_id: str,
        account_blocked: bool,
        session: AsyncClientSession,
    ) -> None:
        """A number moved to an account: it follows that account's financial block."""
        await self._links.link(company_id, msisdn, account_id, session)
        change = self.set_block if account_blocked else self.lift_block
        await change(company_id, [msisdn], FINANCIAL, session)
