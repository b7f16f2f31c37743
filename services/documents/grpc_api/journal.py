"""OperationJournalService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.documents.service.journal import JournalCases
from services.kit.context import current_caller
from vm.documents.v1 import journal_pb2 as pb
from vm.documents.v1 import journal_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

JOURNAL_SERVICE = pb.DESCRIPTOR.services_by_name["OperationJournalService"].full_name


class OperationJournalServicer(pb_grpc.OperationJournalServiceServicer):
    def __init__(self, journal: JournalCases) -> None:
        self._journal = journal

    async def ListOperations(
        self, request: pb.ListOperationsRequest, context: Context
    ) -> pb.ListOperationsResponse:
        found, token = await self._journal.list_operations(
            current_caller(), request.type, request.status, request.page_size, request.page_token
        )
        return pb.ListOperationsResponse(operations=found, next_page_token=token)

    async def GetOperation(
        self, request: pb.GetOperationRequest, context: Context
    ) -> pb.GetOperationResponse:
        op = await self._journal.get_operation(current_caller(), request.operation_id)
        return pb.GetOperationResponse(operation=op)

    async def ListOperationResults(
        self, request: pb.ListOperationResultsRequest, context: Context
    ) -> pb.ListOperationResultsResponse:
        results, token = await self._journal.list_results(
            current_caller(),
            request.operation_id,
            request.status,
            request.page_size,
            request.page_token,
        )
        return pb.ListOperationResultsResponse(results=results, next_page_token=token)

    async def CancelOperation(
        self, request: pb.CancelOperationRequest, context: Context
    ) -> pb.CancelOperationResponse:
        op = await self._journal.cancel_operation(current_caller(), request.operation_id)
        return pb.CancelOperationResponse(operation=op)
