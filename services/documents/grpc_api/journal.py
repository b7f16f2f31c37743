"""The operation-results journal as vm.common.v1.OperationsService: proto ⇄ use case.
OperationJournalService, its deprecated copy, is served by it."""

from __future__ import annotations

import grpc

from services.documents.service.journal import JournalCases
from services.kit.context import current_caller
from services.kit.grpc_server import Registrar, served_by_successor
from vm.common.v1 import operations_pb2 as pb
from vm.common.v1 import operations_pb2_grpc as pb_grpc
from vm.documents.v1 import journal_pb2, journal_pb2_grpc

Context = grpc.aio.ServicerContext

_OPERATIONS = pb.DESCRIPTOR.services_by_name["OperationsService"]
_JOURNAL = journal_pb2.DESCRIPTOR.services_by_name["OperationJournalService"]
OPERATIONS_SERVICE = _OPERATIONS.full_name
JOURNAL_SERVICE = _JOURNAL.full_name


class OperationJournalServicer(pb_grpc.OperationsServiceServicer):
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


class DeprecatedJournalServicer(journal_pb2_grpc.OperationJournalServiceServicer):
    """vm.documents.v1.OperationJournalService: every RPC served by the journal's
    vm.common.v1.OperationsService."""

    def __init__(self, journal: OperationJournalServicer) -> None:
        vars(self).update(served_by_successor(_JOURNAL, _OPERATIONS, journal))


def journal_registrars(journal: JournalCases) -> list[Registrar]:
    servicer = OperationJournalServicer(journal)
    return [
        (pb_grpc.add_OperationsServiceServicer_to_server, servicer),
        (
            journal_pb2_grpc.add_OperationJournalServiceServicer_to_server,
            DeprecatedJournalServicer(servicer),
        ),
    ]
