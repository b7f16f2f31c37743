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

    async def numbers_billed_to(
        self,
        company_id: str,
        moves: Sequence[AccountMove],
        session: AsyncClientSession,
    ) -> None:
        """Numbers moved to accounts, as billing's events were handed over (in order): each
        follows its account's financial block — as its move tells it, or as a newer event
        of the account told it already. A move older than one applied is ignored. A run of
        moves is applied as one, with what applying them one after the other leaves: each
        number on its last newer move, its block wanted as of that move."""
        versions = await self._links.move_versions(company_id, {m.msisdn for m in moves}, session)
        known = await self._links.blocks_known(company_id, {m.account_id for m in moves}, session)
        learnt: dict[str, tuple[int, bool]] = {}  # accounts' blocks first told by a move
        linked: dict[str, tuple[str, int]] = {}
        blocked: dict[str, bool] = {}
        for move in moves:
            last = versions.get(move.msisdn)
            if last is None or (move.version and last >= move.version):
                continue  # not the company's number, or an older move
            versions[move.msisdn] = move.version
            linked[move.msisdn] = (move.account_id, move.version)
            blocked[move.msisdn] = _block_after(move, known, learnt)
        await self._links.link_all(company_id, linked, session)
        await self._links.record_blocks(company_id, learnt, session)
        to_block = [msisdn for msisdn, on in blocked.items() if on]
        to_lift = [msisdn for msisdn, on in blocked.items() if not on]
        if to_block:
            await self.set_block(company_id, to_block, FINANCIAL, session)
        if to_lift:
            await self.lift_block(company_id, to_lift, FINANCIAL, session)


def _block_after(
    move: AccountMove,
    known: dict[str, tuple[int, bool]],
    learnt: dict[str, tuple[int, bool]],
) -> bool:
    """Whether the number is to be blocked after `move`: its account's newest block known
    (`known` takes what the move tells when that is newer, and `learnt` records it)."""
    newest = known.get(move.account_id)
    if newest is not None and newest[0] >= move.account_block_version:
        return newest[1]
    if move.account_block_version:
        told = (move.account_block_version, move.account_blocked)
        known[move.account_id] = learnt[move.account_id] = told
    return move.account_blocked
