"""Other services' events (and billing's own) → billing's use cases.

- identity: the company (known companies, and whom to tell), users' logins;
- catalog: the hierarchy's nodes, numbers (added, moved, replaced, tariff and services)
  and the catalogue's monthly prices;
- billing itself: a limit reached with the notify action is told to the company here,
  after the commit that reached it (a failed delivery is retried by redelivery).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.billing.service import BillingCases
from services.billing.service.base import LIMIT_REACHED
from services.billing.store.numbers import AddedNumber
from services.kit.consumer import AppliedAlone, BatchHandler, EventHandler
from services.kit.events import Event, read_payload
from services.kit.known_companies import COMPANY_CREATED, KnownCompanies
from vm.catalog.events.v1 import events_pb2 as catalog_events
from vm.identity.events.v1 import events_pb2 as identity_events

USER_CREATED = "vm.identity.user.created.v1"
USER_UPDATED = "vm.identity.user.updated.v1"
NODE_CREATED = "vm.catalog.node.created.v1"
NODE_CHANGED = "vm.catalog.node.changed.v1"
NODE_DELETED = "vm.catalog.node.deleted.v1"
NUMBER_ADDED = "vm.catalog.number.added.v1"
NUMBER_MOVED = "vm.catalog.number.moved.v1"
MSISDN_REPLACED = "vm.catalog.number.msisdn_replaced.v1"
TARIFF_CHANGED = "vm.catalog.number.tariff_changed.v1"
SERVICE_CONNECTED = "vm.catalog.number.service_connected.v1"
SERVICE_DISCONNECTED = "vm.catalog.number.service_disconnected.v1"
TARIFF_DEFINED = "vm.catalog.tariff.defined.v1"
SERVICE_DEFINED = "vm.catalog.service.defined.v1"


def handlers(companies: KnownCompanies, cases: BillingCases) -> dict[str, EventHandler]:
    stores = cases.stores
    numbers = cases.numbers

    async def company_created(event: Event, session: AsyncClientSession) -> None:
        await companies.record_company_created(event, session)
        created = read_payload(event, identity_events.CompanyCreated)
        await stores.contacts.record_company(
            created.company_id, created.name, created.main_number, created.contact_email, session
        )
        await stores.numbers.guard(created.company_id, session)  # made before it is contended

    async def user_changed(event: Event, session: AsyncClientSession) -> None:
        # UserCreated or UserChanged, as registered: both name the company, user and login.
        user = read_payload(event)
        if user.login:
            await stores.contacts.record_user(user.company_id, user.user_id, user.login, session)

    async def node_changed(event: Event, session: AsyncClientSession) -> None:
        node = read_payload(event, catalog_events.NodeChanged)
        await stores.nodes.record(node.company_id, node.node_id, node.parent_id, session)

    async def node_deleted(event: Event, session: AsyncClientSession) -> None:
        node = read_payload(event, catalog_events.NodeDeleted)
        await stores.nodes.forget(node.company_id, node.node_id, session)

    async def numbers_added(events: Sequence[Event], session: AsyncClientSession) -> None:
        # A run of catalog's new numbers (a bulk addition is thousands): a bulk write per
        # company, not a transaction's worth of reads and writes per number.
        by_company: dict[str, list[AddedNumber]] = {}
        for event in events:
            added = read_payload(event, catalog_events.NumberAdded)
            number = AddedNumber(added.msisdn, added.node_id, added.tariff_id)
            by_company.setdefault(added.company_id, []).append(number)
        for company_id, numbers_of_company in by_company.items():
            await numbers.numbers_added(company_id, numbers_of_company, session)

    def copied_change(event: Event) -> tuple[str, str, dict[str, Any]]:
        """(company, number, the change to billing's copy) of one of catalog's events."""
        if event.type == NUMBER_MOVED:
            moved = read_payload(event, catalog_events.NumberMoved)
            return moved.company_id, moved.msisdn, {"$set": {"node_id": moved.node_id}}
        if event.type == TARIFF_CHANGED:
            changed = read_payload(event, catalog_events.NumberTariffChanged)
            return changed.company_id, changed.msisdn, {"$set": {"tariff_id": changed.tariff_id}}
        service = read_payload(event, catalog_events.NumberServiceChanged)
        verb = "$addToSet" if event.type == SERVICE_CONNECTED else "$pull"
        return service.company_id, service.msisdn, {verb: {"services": service.service_id}}

    async def numbers_changed(events: Sequence[Event], session: AsyncClientSession) -> None:
        # A bulk change's run of events: one ordered bulk write for the run.
        await numbers.numbers_changed([copied_change(e) for e in events], session)

    async def msisdn_replaced(event: Event, session: AsyncClientSession) -> None:
        replaced = read_payload(event, catalog_events.NumberMsisdnReplaced)
        await numbers.number_replaced(
            replaced.company_id,
            replaced.previous_msisdn,
            replaced.msisdn,
            replaced.node_id,
            session,
        )

    async def price_defined(event: Event, session: AsyncClientSession) -> None:
        item = read_payload(event, catalog_events.CatalogueItemDefined)
        await stores.fees.record_price(item.item_id, item.monthly_kopecks, session)

    copied = BatchHandler(numbers_changed)
    return {
        COMPANY_CREATED: company_created,
        USER_CREATED: user_changed,
        USER_UPDATED: user_changed,
        NODE_CREATED: node_changed,
        NODE_CHANGED: node_changed,
        NODE_DELETED: node_deleted,
        NUMBER_ADDED: BatchHandler(numbers_added),
        **dict.fromkeys(
            (NUMBER_MOVED, TARIFF_CHANGED, SERVICE_CONNECTED, SERVICE_DISCONNECTED), copied
        ),
        MSISDN_REPLACED: msisdn_replaced,
        TARIFF_DEFINED: price_defined,
        SERVICE_DEFINED: price_defined,
        # An SMS and an e-mail leave with it: never run again for another event's sake.
        LIMIT_REACHED: AppliedAlone(cases.usage.notify_limit),
    }
