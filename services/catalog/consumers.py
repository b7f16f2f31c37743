"""Other services' events → catalog's use cases."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.service import CatalogCases
from services.catalog.service.system_blocks import AccountMove
from services.kit.consumer import BatchHandler, EventHandler
from services.kit.events import Event, read_payload
from services.kit.known_companies import COMPANY_CREATED, KnownCompanies
from vm.billing.events.v1 import events_pb2 as billing_events
from vm.identity.events.v1 import events_pb2

BALANCE_EXHAUSTED = "vm.billing.account.balance_exhausted.v1"
BALANCE_RESTORED = "vm.billing.account.balance_restored.v1"
LIMIT_REACHED = "vm.billing.limit.reached.v1"
LIMIT_RESET = "vm.billing.limit.reset.v1"
NUMBER_ACCOUNT_CHANGED = "vm.billing.number.account_changed.v1"


def handlers(companies: KnownCompanies, cases: CatalogCases) -> dict[str, EventHandler]:
    async def company_created(event: Event, session: AsyncClientSession) -> None:
        # Catalog's copy of the company, and the root of its hierarchy.
        await companies.record_company_created(event, session)
        created = read_payload(event, events_pb2.CompanyCreated)
        await cases.hierarchy.create_root(created.company_id, created.name, session)

    blocks = cases.system_blocks

    def balance_changed(blocked: bool) -> EventHandler:
        async def handle(event: Event, session: AsyncClientSession) -> None:
            account = read_payload(event, billing_events.AccountBalanceChanged)
            await blocks.account_block_changed(
                account.company_id,
                account.account_id,
                account.msisdns,
                blocked,
                account.version,
                session,
            )

        return handle

    async def limit_reached(event: Event, session: AsyncClientSession) -> None:
        reached = read_payload(event, billing_events.LimitReached)
        if reached.action == "block":
            await blocks.set_block(reached.company_id, [reached.msisdn], "limit", session)

    async def limit_reset(event: Event, session: AsyncClientSession) -> None:
        reset = read_payload(event, billing_events.LimitReset)
        await blocks.lift_block(reset.company_id, [reset.msisdn], "limit", session)

    async def accounts_changed(events: Sequence[Event], session: AsyncClientSession) -> None:
        # A run of moves (billing tells one per number added or moved) is applied per
        # company with a handful of writes, not a handful per number.
        moves: dict[str, list[AccountMove]] = {}
        for event in events:
            changed = read_payload(event, billing_events.NumberAccountChanged)
            moves.setdefault(changed.company_id, []).append(
                AccountMove(
                    changed.msisdn,
                    changed.account_id,
                    changed.financial_block,
                    changed.version,
                    changed.account_block_version,
                )
            )
        for company_id, company_moves in moves.items():
            await blocks.numbers_billed_to(company_id, company_moves, session)

    return {
        COMPANY_CREATED: company_created,
        # Billing's facts about money: the system's blocks and each number's account.
        BALANCE_EXHAUSTED: balance_changed(blocked=True),
        BALANCE_RESTORED: balance_changed(blocked=False),
        LIMIT_REACHED: limit_reached,
        LIMIT_RESET: limit_reset,
        NUMBER_ACCOUNT_CHANGED: BatchHandler(accounts_changed),
    }
