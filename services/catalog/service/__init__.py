"""Catalog's use cases, one class per area, wired together here: each loads through the
stores, asks the domain, and saves with its outbox events in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from pymongo.asynchronous.database import AsyncDatabase

from services.catalog.provisioning import Provisioning, SimulatedProvisioning
from services.catalog.service.bulk import AccountCheck, BulkCases
from services.catalog.service.catalogue import CatalogueCases
from services.catalog.service.hierarchy import HierarchyCases
from services.catalog.service.numbers import NumberCases
from services.catalog.service.operations import OperationCases
from services.catalog.service.provisioning_saga import ProvisioningSaga
from services.catalog.service.system_blocks import SystemBlockCases
from services.catalog.store.accounts import AccountLinks
from services.catalog.store.catalogue import CatalogueStore
from services.catalog.store.hierarchy import NodeStore
from services.catalog.store.intents import IntentStore
from services.catalog.store.number_changes import NumberChanges
from services.catalog.store.numbers import FreeNumberStore, NumberStore
from services.catalog.store.operations import OperationStore
from services.kit.caller_access import CallerAccessResolver
from services.kit.known_companies import KnownCompanies
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox


@dataclass(frozen=True)
class CatalogCases:
    hierarchy: HierarchyCases
    catalogue: CatalogueCases
    numbers: NumberCases
    operations: OperationCases
    bulk: BulkCases
    system_blocks: SystemBlockCases
    saga: ProvisioningSaga  # the network's changes, and their reconciler

    @classmethod
    def create(
        cls,
        db: AsyncDatabase,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
        provisioning: Provisioning | None = None,
        accounts: AccountCheck | None = None,
        provisioning_lease: timedelta = timedelta(seconds=30),
    ) -> CatalogCases:
        # The simulator unless main.py brings the network's adapter (or its settings).
        network = provisioning or SimulatedProvisioning()
        saga = ProvisioningSaga(
            IntentStore(db),
            NumberChanges(db),
            transactions,
            outbox,
            network,
            lease=provisioning_lease,
        )
        return cls(
            hierarchy=HierarchyCases(
                NodeStore(db), transactions, outbox, access, numbers=NumberStore(db)
            ),
            catalogue=CatalogueCases(CatalogueStore(db), transactions, outbox, access),
            numbers=NumberCases(
                NumberStore(db),
                FreeNumberStore(db),
                NodeStore(db),
                CatalogueStore(db),
                KnownCompanies(db),
                transactions,
                outbox,
                access,
            ),
            operations=OperationCases(
                NumberStore(db),
                NumberChanges(db),
                CatalogueStore(db),
                transactions,
                outbox,
                access,
                saga,
            ),
            bulk=BulkCases(
                OperationStore(db),
                NumberStore(db),
                NodeStore(db),
                CatalogueStore(db),
                transactions,
                outbox,
                access,
                accounts,
            ),
            system_blocks=SystemBlockCases(NumberStore(db), IntentStore(db), AccountLinks(db)),
            saga=saga,
        )

    async def ensure_indexes(self) -> None:
        await self.hierarchy.ensure_indexes()
        await self.catalogue.ensure_indexes()
        await self.numbers.ensure_indexes()
        await self.operations.ensure_indexes()
        await self.bulk.ensure_indexes()
        await self.system_blocks.ensure_indexes()
