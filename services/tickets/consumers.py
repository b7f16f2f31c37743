"""Other services' events → tickets' use cases."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.consumer import EventHandler
from services.kit.events import Event, read_payload
from services.kit.known_companies import COMPANY_CREATED, KnownCompanies
from services.tickets.service import TicketCases
from vm.billing.events.v1 import events_pb2 as billing_events
from vm.catalog.events.v1 import events_pb2 as catalog_events
from vm.identity.events.v1 import events_pb2 as identity_events

SETTLEMENT_CHANGE_REQUESTED = "vm.billing.settlement_change.requested.v1"
SETTLEMENT_CHANGE_DECIDED = "vm.billing.settlement_change.decided.v1"
NUMBER_MOVED = "vm.catalog.number.moved.v1"
NUMBER_MSISDN_REPLACED = "vm.catalog.number.msisdn_replaced.v1"


def handlers(companies: KnownCompanies, cases: TicketCases) -> dict[str, EventHandler]:
    reactions = cases.reactions

    async def company_created(event: Event, session: AsyncClientSession) -> None:
        # Tickets' copy of the company, and where answers go when no author's address is known.
        await companies.record_company_created(event, session)
        created = read_payload(event, identity_events.CompanyCreated)
        await cases.deps.contacts.record(created.company_id, created.contact_email, session)

    async def settlement_requested(event: Event, session: AsyncClientSession) -> None:
        request = read_payload(event, billing_events.SettlementChangeRequested)
        await reactions.open_settlement_ticket(request, session)

    async def settlement_decided(event: Event, session: AsyncClientSession) -> None:
        decision = read_payload(event, billing_events.SettlementChangeDecided)
        await reactions.record_settlement_decision(decision, session)

    async def number_moved(event: Event, session: AsyncClientSession) -> None:
        moved = read_payload(event, catalog_events.NumberMoved)
        await reactions.follow_number(moved.company_id, moved.msisdn, moved.node_path, session)

    async def msisdn_replaced(event: Event, session: AsyncClientSession) -> None:
        replaced = read_payload(event, catalog_events.NumberMsisdnReplaced)
        await reactions.follow_number(
            replaced.company_id,
            replaced.msisdn,
            replaced.node_path,
            session,
            previous_msisdn=replaced.previous_msisdn,
        )

    return {
        COMPANY_CREATED: company_created,
        SETTLEMENT_CHANGE_REQUESTED: settlement_requested,
        SETTLEMENT_CHANGE_DECIDED: settlement_decided,
        NUMBER_MOVED: number_moved,
        NUMBER_MSISDN_REPLACED: msisdn_replaced,
    }
