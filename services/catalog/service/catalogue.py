"""Catalog's use cases: the operator's tariff and service catalogue.

Who may: reading needs a company caller whose session is alive (the catalogue is the
same for every company, so no permission and no scope); defining needs the operator's
credential (the gRPC access policy says so first, and the use case checks again).
"""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from services.catalog.domain import catalogue as domain
from services.catalog.domain.catalogue import Catalogue, Service, Tariff
from services.catalog.store.catalogue import CatalogueStore
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import NotFound, PermissionDenied
from services.kit.events import Event, new_event
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from vm.catalog.events.v1 import events_pb2

SOURCE = "/services/catalog"
TARIFF_DEFINED = "vm.catalog.tariff.defined.v1"
SERVICE_DEFINED = "vm.catalog.service.defined.v1"


class CatalogueCases:
    def __init__(
        self,
        store: CatalogueStore,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
    ) -> None:
        self._store = store
        self._tx = transactions
        self._outbox = outbox
        self._access = access

    async def ensure_indexes(self) -> None:
        await self._store.ensure_indexes()

    async def current(self, session: AsyncClientSession | None = None) -> Catalogue:
        """The whole catalogue, for other use cases (a number's tariff and services are
        checked against it); no caller check here — the asking use case made its own."""
        return await self._store.catalogue(session)

    # ------------------------------------------------------------ a company reads

    async def tariffs(self, caller: Caller) -> list[Tariff]:
        await self._access.access(caller)
        return (await self._store.catalogue()).tariffs

    async def tariff(self, caller: Caller, tariff_id: str) -> Tariff:
        await self._access.access(caller)
        tariff = await self._store.tariff(tariff_id)
        if tariff is None:
            raise NotFound("no such tariff")
        return tariff

    async def services(self, caller: Caller, tariff_id: str | None = None) -> list[Service]:
        """Every service; with a tariff, those that may be connected on it now."""
        await self._access.access(caller)
        catalogue = await self._store.catalogue()
        if tariff_id is None:
            return catalogue.services
        return catalogue.connectable_on(catalogue.known_tariff(tariff_id).id)

    async def service(self, caller: Caller, service_id: str) -> Service:
        await self._access.access(caller)
        service = await self._store.service(service_id)
        if service is None:
            raise NotFound("no such service")
        return service

    # ------------------------------------------------------------ the operator defines

    async def define_tariff(self, caller: Caller, tariff: Tariff, *, currency: str) -> Tariff:
        """Creates or replaces the tariff by id (numbers on it keep their settings)."""
        _require_operator(caller)
        tariff = domain.checked_tariff(tariff, currency=currency)
        event = _defined(TARIFF_DEFINED, tariff.id, tariff.name, tariff.monthly_fee)

        async def write(session: AsyncClientSession) -> None:
            await self._store.save_tariff(tariff, session)
            await self._outbox.add(session, event)

        await self._tx.run(write)
        return tariff

    async def define_service(self, caller: Caller, service: Service, *, currency: str) -> Service:
        """Creates or replaces the service by id; its rules must fit the catalogue."""
        _require_operator(caller)
        service = domain.checked_service(service, currency=currency)
        event = _defined(SERVICE_DEFINED, service.id, service.name, service.monthly_price)

        async def write(session: AsyncClientSession) -> None:
            # Checked against the catalogue as this transaction sees it.
            domain.check_service_definition(service, await self._store.catalogue(session))
            await self._store.save_service(service, session)
            await self._outbox.add(session, event)

        await self._tx.run(write)
        return service


def _require_operator(caller: Caller) -> None:
    if not caller.is_operator:
        raise PermissionDenied("only the operator defines the catalogue")


def _defined(event_type: str, item_id: str, name: str, monthly_kopecks: int) -> Event:
    return new_event(
        event_type,
        events_pb2.CatalogueItemDefined(
            item_id=item_id, name=name, monthly_kopecks=monthly_kopecks
        ),
        source=SOURCE,
        subject=item_id,
    )
