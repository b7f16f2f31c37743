"""BulkOperationService: proto ⇄ use case."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from services.catalog.domain.bulk import SendSms
from services.catalog.grpc_api.bulk_convert import requested_action
from services.catalog.service.bulk import BulkCases, BulkRequest, operation_message, result_message
from services.kit.context import current_caller
from services.kit.grpc_server import Registrar
from vm.catalog.v1 import bulk_operations_pb2 as pb
from vm.catalog.v1 import bulk_operations_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

BULK_OPERATION_SERVICE = pb.DESCRIPTOR.services_by_name["BulkOperationService"].full_name


class BulkOperationServicer(pb_grpc.BulkOperationServiceServicer):
    def __init__(self, bulk: BulkCases) -> None:
        self._bulk = bulk

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

    async def ListOperations(
        self, request: pb.ListOperationsRequest, context: Context
    ) -> pb.ListOperationsResponse:
        found, token = await self._bulk.list_operations(
            current_caller(),
            operation_type=request.type,
            status=request.status,
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListOperationsResponse(
            operations=[operation_message(op) for op in found], next_page_token=token
        )

    async def GetOperation(
        self, request: pb.GetOperationRequest, context: Context
    ) -> pb.GetOperationResponse:
        op = await self._bulk.get_operation(current_caller(), request.operation_id)
        return pb.GetOperationResponse(operation=operation_message(op))

    async def ListOperationResults(
        self, request: pb.ListOperationResultsRequest, context: Context
    ) -> pb.ListOperationResultsResponse:
        results, token = await self._bulk.list_results(
            current_caller(),
            request.operation_id,
            status=request.status,
            size=request.page_size,
            token=request.page_token,
        )
        return pb.ListOperationResultsResponse(
            results=[result_message(r) for r in results], next_page_token=token
        )

    async def CancelOperation(
        self, request: pb.CancelOperationRequest, context: Context
    ) -> pb.CancelOperationResponse:
        op = await self._bulk.cancel_operation(current_caller(), request.operation_id)
        return pb.CancelOperationResponse(operation=operation_message(op))


def _time(request: pb.StartBulkOperationRequest | pb.SendSmsRequest, name: str) -> datetime | None:
    if not request.HasField(name):
        return None
    return getattr(request, name).ToDatetime(tzinfo=UTC)


def bulk_registrars(bulk: BulkCases) -> list[Registrar]:
    return [(pb_grpc.add_BulkOperationServiceServicer_to_server, BulkOperationServicer(bulk))]
