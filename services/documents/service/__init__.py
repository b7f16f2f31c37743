"""Documents' use cases: the operation-results journal, financial documents, reports and
application forms."""

from __future__ import annotations

from dataclasses import dataclass

from services.documents.peers import OperatorPeers
from services.documents.service.documents import DocumentCases
from services.documents.service.forms import FormCases
from services.documents.service.jobs import JobCases
from services.documents.service.journal import JournalCases
from services.documents.service.report_rows import ReportRows
from services.documents.service.reports import ReportCases
from services.documents.store.documents import DocumentStore
from services.documents.store.files import GeneratedFiles
from services.documents.store.journal import JournalStore
from services.documents.store.targets import ReportNumbers


@dataclass(frozen=True)
class DocumentsCases:
    journal: JournalCases
    forms: FormCases
    jobs: JobCases
    reports: ReportCases
    documents: DocumentCases
    document_store: DocumentStore
    report_rows: ReportRows
    files: GeneratedFiles
    peers: OperatorPeers
    journal_store: JournalStore
    report_numbers: ReportNumbers

    async def ensure_indexes(self) -> None:
        await self.journal_store.ensure_indexes()
        await self.jobs.jobs.ensure_indexes()
        await self.files.ensure_indexes()
        await self.report_numbers.ensure_indexes()
        await self.document_store.ensure_indexes()
