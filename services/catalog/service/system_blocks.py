"""Catalog's use cases: the blocks the system sets and lifts — `financial` when billing says
an account's money ran out (and lifts it when the money is back), `limit` when a number
reached a spending limit with the block action (lifted when the month ends or the limit
changes) — and which account each number is billed to.

In the transaction of the billing event that causes them (the consumer's), each number's
block to set or lift is queued as a provisioning intent of the system's — never the
network asked there (service/provisioning_saga.py). The reconciler takes them in the
order they were wanted: once the number is free of any other change in flight it holds
it, lets the domain decide on the number as it is then (a block already set is not set
again, one not set is not lifted: a repeated or late event changes nothing), asks the
network outside any transaction, and writes the number and its
vm.catalog.number.blocked/unblocked.v1 event with the answer. A refusal of the network
queues the block again for later; the event itself is never refused for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.domain.numbers import Scope
from services.catalog.provisioning import BlockChange
from services.catalog.store.accounts import AccountLinks
from services.catalog.store.intents import SYSTEM, Intent, IntentStore
from services.catalog.store.numbers import NumberStore
from services.kit.ids import new_id

FINANCIAL = "financial"
LIMIT = "limit"


@dataclass(frozen=True)
class AccountMove:
    """Billing's word that a number is billed to an account (number.account_changed)."""

    msisdn: str
    account_id: str
    account_blocked: bool  # the account's financial block at the move
    version: int = 0  # the number's move version: 0 when the producer did not tell it
    account_block_version: int = 0  # the version of the block `account_blocked` is as of


class SystemBlockCases:
    def __init__(self, numbers: NumberStore, intents: IntentStore, links: AccountLinks) -> None:
        self._numbers = numbers
        self._intents = intents
        self._links = links

    async def ensure_indexes(self) -> None:
        await self._links.ensure_indexes()

    async def set_block(
        self,
        company_id: str,
        msisdns: Sequence[str],
        block_type: str,
        session: AsyncClientSession,
    ) -> int:
        """The system's block queued for each of the company's numbers that lacks it;
        returns how many were queued."""
        return await self._want(company_id, msisdns, block_type, True, session)

    async def lift_block(
        self,
        company_id: str,
        msisdns: Sequence[str],
        block_type: str,
        session: AsyncClientSession,
    ) -> int:
        """The system's block queued to be lifted from each of the company's numbers that
        has it."""
        return await self._want(company_id, msisdns, block_type, False, session)

    async def _want(
        self,
        company_id: str,
        msisdns: Sequence[str],
        block_type: str,
        wanted: bool,
        session: AsyncClientSession,
    ) -> int:
        numbers = await self._numbers.get_many(Scope(company_id), msisdns, session)
        if not numbers:
            return 0
        # A number with a system block still on its way is queued whatever it has now:
        # the blocks reach the network in the order they were wanted.
        queued = await self._intents.queued_for([n.msisdn for n in numbers], session)
        wanted_now = [
            BlockChange(n.msisdn, block_type, set=wanted)
            for n in numbers
            if n.msisdn in queued or any(b.type == block_type for b in n.blocks) is not wanted
        ]
        intents = [
            Intent(
                reference=new_id("prv"),
                company_id=company_id,
                msisdn=change.msisdn,
                change=change,
                fields={},
                event=None,
                owner=SYSTEM,
                held=False,
            )
            for change in wanted_now
        ]
        await self._intents.queue(intents, datetime.now(UTC), session)
        return len(intents)

    async def account_block_changed(
        self,
        company_id: str,
        account_id: str,
        msisdns: Sequence[str],
        blocked: bool,
        version: int,
        session: AsyncClientSession,
    ) -> int:
        """Billing says an account's money ran out (or is back) for its numbers. An event
        older than one applied already is ignored, and a number known here to have moved
        to another account since follows that account, so the end state is billing's last
        word whatever order the events are handled in."""
        if not await self._links.newer_block(company_id, account_id, version, blocked, session):
            return 0
        still_here = await self._links.billed_to(company_id, msisdns, account_id, session)
        change = self.set_block if blocked else self.lift_block
        return await change(company_id, still_here, FINANCIAL, session)

    async def number_billed_to(
        self,
        company_id: str,
        move: AccountMove,
        session: AsyncClientSession,
    ) -> None:
        """A number moved to an account: it follows that account's financial block — as
        the move tells it, or as a newer event of the account told it already. An older
        move than one applied is ignored."""
        if not await self._links.link(
            company_id, move.msisdn, move.account_id, move.version, session
        ):
            return
        blocked = move.account_blocked
        known = await self._links.block_known(company_id, move.account_id, session)
        if known is not None and known[0] >= move.account_block_version:
            blocked = known[1]
        elif move.account_block_version:
            await self._links.newer_block(
                company_id, move.account_id, move.account_block_version, blocked, session
            )
        change = self.set_block if blocked else self.lift_block
        await change(company_id, [move.msisdn], FINANCIAL, session)
