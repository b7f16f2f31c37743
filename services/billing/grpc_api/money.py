"""TransferService and PromisedPaymentService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.billing.grpc_api.convert import money, promise_message, transfer_message
from services.billing.service import BillingCases
from services.kit.context import current_caller
from vm.billing.v1 import transfers_pb2 as pb
from vm.billing.v1 import transfers_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

TRANSFER_SERVICE = pb.DESCRIPTOR.services_by_name["TransferService"].full_name
PROMISED_PAYMENT_SERVICE = pb.DESCRIPTOR.services_by_name["PromisedPaymentService"].full_name


class TransferServicer(pb_grpc.TransferServiceServicer):
    def __init__(self, cases: BillingCases) -> None:
        self._money = cases.money

    async def CreateTransfer(
        self, request: pb.CreateTransferRequest, context: Context
    ) -> pb.CreateTransferResponse:
        transfer, replayed = await self._money.create_transfer(
            current_caller(),
            request.idempotency_key,
            request.from_account_id,
            request.to_account_id,
            request.amount.amount,
            request.amount.currency,
        )
        return pb.CreateTransferResponse(transfer=transfer_message(transfer), replayed=replayed)

    async def ListTransfers(
        self, request: pb.ListTransfersRequest, context: Context
    ) -> pb.ListTransfersResponse:
        found, next_token = await self._money.list_transfers(
            current_caller(), request.account_id, request.page_size, request.page_token
        )
        return pb.ListTransfersResponse(
            transfers=[transfer_message(t) for t in found], next_page_token=next_token
        )


class PromisedPaymentServicer(pb_grpc.PromisedPaymentServiceServicer):
    def __init__(self, cases: BillingCases) -> None:
        self._money = cases.money

    async def TakePromisedPayment(
        self, request: pb.TakePromisedPaymentRequest, context: Context
    ) -> pb.TakePromisedPaymentResponse:
        promise, replayed = await self._money.take_promise(
            current_caller(),
            request.idempotency_key,
            request.account_id,
            request.amount.amount,
            request.amount.currency,
        )
        return pb.TakePromisedPaymentResponse(
            promised_payment=promise_message(promise), replayed=replayed
        )

    async def ListPromisedPayments(
        self, request: pb.ListPromisedPaymentsRequest, context: Context
    ) -> pb.ListPromisedPaymentsResponse:
        found, cap = await self._money.list_promises(current_caller(), request.account_id)
        return pb.ListPromisedPaymentsResponse(
            promised_payments=[promise_message(p) for p in found], cap=money(cap)
        )
