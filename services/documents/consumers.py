"""Other services' events → documents' use cases."""

from __future__ import annotations

from services.documents.service.journal import JournalCases
from services.kit.consumer import BatchHandler, EventHandler
from services.kit.known_companies import KnownCompanies

# Every service's operation updates feed the journal (documents' own too: recording one
# again changes nothing), a run of them at a time.
OPERATION_UPDATED = "vm.*.operation.updated.v1"


def handlers(companies: KnownCompanies, journal: JournalCases) -> dict[str, EventHandler]:
    return {**companies.handlers(), OPERATION_UPDATED: BatchHandler(journal.record_events)}
