"""Loads the demo's financial documents and reports: Ромашка's accountant asks documents
for them as a user would (DocumentService, ReportService), and the documents worker makes
them. Safe to run again: each request carries an idempotency key made of the month, so a
repeat gives the same operation and makes nothing again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from demo.data import DEMO_DOCUMENT_TYPES, DEMO_REPORTS
from demo.progress import Advance, Steps
from services.kit.grpc_client import open_channel
from vm.billing.v1 import accounts_pb2, accounts_pb2_grpc
from vm.catalog.v1 import hierarchy_pb2, hierarchy_pb2_grpc
from vm.common.v1 import common_pb2, operations_pb2, operations_pb2_grpc
from vm.documents.v1 import (
    documents_pb2,
    documents_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
)

Metadata = tuple[tuple[str, str], ...]
FINISHED = {
    common_pb2.OPERATION_STATUS_SUCCEEDED,
    common_pb2.OPERATION_STATUS_FAILED,
    common_pb2.OPERATION_STATUS_PARTIALLY_FAILED,
    common_pb2.OPERATION_STATUS_CANCELLED,
}
WAIT_SECONDS = 180.0


def last_month(now: datetime) -> str:
    return (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


async def ensure_documents(
    documents_addr: str,
    billing_addr: str,
    catalog_addr: str,
    author: Metadata,
    company: str,
    steps: Steps,
) -> str:
    """Asks the documents and reports and waits until the documents worker has made them:
    the banner comes only after; an operation that never finishes is an error."""
    month = last_month(datetime.now(UTC))
    period = reports_pb2.Period(month=month)
    async with open_channel(billing_addr) as billing, open_channel(catalog_addr) as catalog:
        accounts = await accounts_pb2_grpc.AccountServiceStub(billing).ListAccounts(
            accounts_pb2.ListAccountsRequest(), metadata=author, timeout=30
        )
        tree = await hierarchy_pb2_grpc.HierarchyServiceStub(catalog).GetHierarchy(
            hierarchy_pb2.GetHierarchyRequest(), metadata=author, timeout=30
        )
    root = next(n.id for n in tree.nodes if not n.parent_id)
    node_ids = {n.name: n.id for n in tree.nodes}
    async with open_channel(documents_addr) as channel:
        asked = await documents_pb2_grpc.DocumentServiceStub(channel).RequestDocuments(
            documents_pb2.RequestDocumentsRequest(
                account_ids=[a.id for a in accounts.accounts],
                types=list(DEMO_DOCUMENT_TYPES),
                period=period,
                idempotency_key=f"demo-documents-{month}",
            ),
            metadata=author,
            timeout=60,
        )
        operations = [asked.operation.id]
        reports = reports_pb2_grpc.ReportServiceStub(channel)
        for report_type, report_format, node in DEMO_REPORTS:
            started = await reports.RequestReport(
                reports_pb2.RequestReportRequest(
                    type=report_type,
                    format=report_format,
                    node_id=node_ids[node] if node else root,
                    period=period,
                    idempotency_key=f"demo-report-{report_type}-{month}",
                ),
                metadata=author,
                timeout=60,
            )
            operations.append(started.operation.id)
        journal = operations_pb2_grpc.OperationsServiceStub(channel)
        with steps.step("documents and reports, made by the worker", len(operations)) as advance:
            await _wait(journal, author, operations, advance)
    done = f"{len(operations)} of {len(operations)} operations finished"
    return f"{company}: documents and {len(DEMO_REPORTS)} reports for {month} — {done}"


async def _wait(
    journal: operations_pb2_grpc.OperationsServiceStub,
    author: Metadata,
    ids: list[str],
    advance: Advance,
) -> None:
    """Until every operation has finished (the documents worker makes them), advancing
    the step as they do; one that failed, or that is still not finished after
    WAIT_SECONDS, is an error."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    pending = list(ids)
    while pending:
        for operation_id in list(pending):
            found = await journal.GetOperation(
                operations_pb2.GetOperationRequest(operation_id=operation_id),
                metadata=author,
                timeout=30,
            )
            if found.operation.status == common_pb2.OPERATION_STATUS_SUCCEEDED:
                pending.remove(operation_id)
                advance(1)
            elif found.operation.status in FINISHED:
                raise RuntimeError(f"the demo's operation {operation_id} did not succeed")
        if pending and asyncio.get_running_loop().time() > deadline:
            raise RuntimeError(
                f"the documents worker made {len(ids) - len(pending)} of {len(ids)} documents "
                f"and reports in {WAIT_SECONDS:.0f} s: is `documents-worker` running?"
            )
        if pending:
            await asyncio.sleep(0.2)
