"""ReportService: proto ⇄ use case."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from services.documents.grpc_api.files import from_chunks
from services.documents.service.reports import ReportCases
from services.kit.context import current_caller
from vm.documents.v1 import reports_pb2 as pb
from vm.documents.v1 import reports_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

REPORT_SERVICE = pb.DESCRIPTOR.services_by_name["ReportService"].full_name


class ReportServicer(pb_grpc.ReportServiceServicer):
    def __init__(self, reports: ReportCases) -> None:
        self._reports = reports

    async def ListReportTypes(
        self, request: pb.ListReportTypesRequest, context: Context
    ) -> pb.ListReportTypesResponse:
        return pb.ListReportTypesResponse(
            types=[
                pb.ReportType(
                    id=t.id,
                    title=t.title,
                    description=t.description,
                    formats=["xlsx", "csv", "pdf"],
                )
                for t in self._reports.types()
            ]
        )

    async def RequestReport(
        self, request: pb.RequestReportRequest, context: Context
    ) -> pb.RequestReportResponse:
        period = request.period
        op = await self._reports.request_report(
            current_caller(),
            report_type=request.type,
            report_format=request.format,
            msisdns=list(request.msisdns),
            node_id=request.node_id,
            period=(period.month, getattr(period, "from"), period.to),
            idempotency_key=request.idempotency_key,
        )
        return pb.RequestReportResponse(operation=op)

    async def DownloadReport(
        self, request: pb.DownloadReportRequest, context: Context
    ) -> AsyncIterator[pb.DownloadReportResponse]:
        stored, chunks = await self._reports.report_file(current_caller(), request.report_id)
        async for message in from_chunks(stored, chunks, pb.DownloadReportResponse):
            yield message
