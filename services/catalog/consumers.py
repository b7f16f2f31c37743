"""Other services' events → catalog's use cases."""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.service import CatalogCases
from services.kit.consumer import EventHandler
from services.kit.events import Event, read_payload
from services.kit.known_companies import COMPANY_CREATED, KnownCompanies
from vm.identity.events.v1 import events_pb2


def handlers(companies: KnownCompanies, cases: CatalogCases) -> dict[str, EventHandler]:
    async def company_created(event: Event, session: AsyncClientSession) -> None:
        # Catalog's copy of the company, and the root of its hierarchy.
        await companies.record_company_created(event, session)
        created = read_payload(event, events_pb2.CompanyCreated)
        await cases.hierarchy.create_root(created.company_id, created.name, session)

    return {COMPANY_CREATED: company_created}
