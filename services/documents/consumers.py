"""Other services' events → documents' use cases."""

from __future__ import annotations

from services.documents.service.journal import JournalCases
from services.kit.consumer import EventHandler
from services.kit.known_companies import KnownCompanies

# Every service's operation updates feed the journal (documents' own too: recording one
# again changes nothing).
OPERATION_UPDATED = "vm.*.operation.updated.v1"


def handlers(companies: KnownCompanies, journal: JournalCases) -> dict[str, EventHandler]:
    return {**companies.handlers(), OPERATION_UPDATED: journal.record_event}
