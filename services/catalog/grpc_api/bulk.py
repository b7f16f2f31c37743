"""BulkOperationService and vm.common.v1.OperationsService (catalog's operations): proto ⇄
use case. BulkOperationService's own copies of the operations RPCs are deprecated and
served by OperationsService."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from services.catalog.domain.bulk import SendSms
from services.catalog.grpc_api.bulk_convert import requested_action
from services.catalog.service.bulk import BulkCases, BulkRequest, operation_message, result_message
from services.kit.context import current_caller
from services.kit.grpc_server import Registrar, served_by_successor
from vm.catalog.v1 import bulk_operations_pb2 as pb
from vm.catalog.v1 import bulk_operations_pb2_grpc as pb_grpc
from vm.common.v1 import operations_pb2 as ops
from vm.common.v1 import operations_pb2_grpc as ops_grpc

Context = grpc.aio.ServicerContext

_BULK = pb.DESCRIPTOR.services_by_name["BulkOperationService"]
_OPERATIONS = ops.DESCRIPTOR.services_by_name["OperationsService"]
BULK_OPERATION_SERVICE = _BULK.full_name
OPERATIONS_SERVICE = _OPERATIONS.full_name


class BulkOperationServicer(pb_grpc.BulkOperationServiceServicer):
    def __init__(self, bulk: BulkCases, operations: OperationsServicer) -> None:
        self._bulk = bulk
        # ListOperations, GetOperation, ListOperationResults, CancelOperation: deprecated
        # here, served by vm.common.v1.OperationsService.
        vars(self).update(served_by_successor(_BULK, _OPERATIONS, operations))

    async def StartBulkOperation(
        self, request: pb.StartBulkOperationRequest, context: Context
    ) -> pb.StartBulkOperationResponse:
        op = await self._bulk.start_bulk_operation(
            current_caller(),
            BulkRequest(
                action=requested_action(request),
                msisdns=list(request.msisdns),
                node_id=request.node_id,
                dry_run=request.dry_run,
                scheduled_at=_time(request, "scheduled_at"),
                idempotency_key=request.idempotency_key,
            ),
        )
        return pb.StartBulkOperationResponse(operation=operation_message(op))

    async def SendSms(self, request: pb.SendSmsRequest, context: Context) -> pb.SendSmsResponse:
        op = await self._bulk.send_sms(
            current_caller(),
            BulkRequest(
                action=SendSms(request.text),
                msisdns=list(request.msisdns),
                node_id=request.node_id,
                dry_run=False,
                scheduled_at=_time(request, "scheduled_at"),
                idempotency_key=request.idempotency_key,
            ),
        )
        return pb.SendSmsResponse(operation=operation_message(op))


class OperationsServicer(ops_grpc.OperationsServiceServicer):
    def __init__(self, bulk: BulkCases) -> None:
        self._bulk = bulk

    async def ListOperations(
        self, request: ops.ListOperationsRequest, context: Context
    ) -> ops.ListOperationsResponse:
        found, token = await self._bulk.list_operations(
            current_caller(),
            operation_type=request.type,
            status=request.status,
            size=request.page_size,
            token=request.page_token,
        )
        return ops.ListOperationsResponse(
            operations=[operation_message(op) for op in found], next_page_token=token
        )

    async def GetOperation(
        self, request: ops.GetOperationRequest, context: Context
    ) -> ops.GetOperationResponse:
        op = await self._bulk.get_operation(current_caller(), request.operation_id)
        return ops.GetOperationResponse(operation=operation_message(op))

    async def ListOperationResults(
        self, request: ops.ListOperationResultsRequest, context: Context
    ) -> ops.ListOperationResultsResponse:
        results, token = await self._bulk.list_results(
            current_caller(),
            request.operation_id,
            status=request.status,
            size=request.page_size,
            token=request.page_token,
        )
        return ops.ListOperationResultsResponse(
            results=[result_message(r) for r in results], next_page_token=token
        )

    async def CancelOperation(
        self, request: ops.CancelOperationRequest, context: Context
    ) -> ops.CancelOperationResponse:
        op = await self._bulk.cancel_operation(current_caller(), request.operation_id)
        return ops.CancelOperationResponse(operation=operation_message(op))


def _time(request: pb.StartBulkOperationRequest | pb.SendSmsRequest, name: str) -> datetime | None:
    if not request.HasField(name):
        return None
    return getattr(request, name).ToDatetime(tzinfo=UTC)


def bulk_registrars(bulk: BulkCases) -> list[Registrar]:
    operations = OperationsServicer(bulk)
    return [
        (ops_grpc.add_OperationsServiceServicer_to_server, operations),
        (
            pb_grpc.add_BulkOperationServiceServicer_to_server,
            BulkOperationServicer(bulk, operations),
        ),
    ]
