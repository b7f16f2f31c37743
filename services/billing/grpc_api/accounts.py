"""AccountService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.billing.grpc_api.convert import (
    METHOD_NAMES,
    account_message,
    delivery_from,
    entry_message,
    limit_message,
    request_message,
)
from services.billing.service import BillingCases
from services.kit.context import current_caller
from vm.billing.v1 import accounts_pb2 as pb
from vm.billing.v1 import accounts_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

ACCOUNT_SERVICE = pb.DESCRIPTOR.services_by_name["AccountService"].full_name


class AccountServicer(pb_grpc.AccountServiceServicer):
    def __init__(self, cases: BillingCases) -> None:
        self._accounts = cases.accounts
        self._numbers = cases.numbers

    async def ListAccounts(
        self, request: pb.ListAccountsRequest, context: Context
    ) -> pb.ListAccountsResponse:
        accounts, pending, next_token = await self._accounts.list_accounts(
            current_caller(), request.page_size, request.page_token
        )
        return pb.ListAccountsResponse(
            accounts=[account_message(a, pending.get(a.id)) for a in accounts],
            next_page_token=next_token,
        )

    async def GetAccount(
        self, request: pb.GetAccountRequest, context: Context
    ) -> pb.GetAccountResponse:
        account, pending = await self._accounts.get_account(current_caller(), request.account_id)
        return pb.GetAccountResponse(account=account_message(account, pending))

    async def OpenAccount(
        self, request: pb.OpenAccountRequest, context: Context
    ) -> pb.OpenAccountResponse:
        account = await self._accounts.open_account(
            current_caller(),
            request.account.name,
            delivery_from(request.account.bill_delivery, request.account.HasField("bill_delivery")),
        )
        return pb.OpenAccountResponse(account=account_message(account))

    async def ListEntries(
        self, request: pb.ListEntriesRequest, context: Context
    ) -> pb.ListEntriesResponse:
        entries, next_token = await self._accounts.statement(
            current_caller(),
            request.account_id,
            getattr(request, "from"),
            request.to,
            request.page_size,
            request.page_token,
        )
        return pb.ListEntriesResponse(
            entries=[entry_message(e) for e in entries], next_page_token=next_token
        )

    async def ChangeSettlementMethod(
        self, request: pb.ChangeSettlementMethodRequest, context: Context
    ) -> pb.ChangeSettlementMethodResponse:
        account, pending = await self._accounts.change_settlement_method(
            current_caller(),
            request.account_id,
            METHOD_NAMES.get(request.method, ""),
            request.credit_limit.amount,
            request.credit_limit.currency,
        )
        return pb.ChangeSettlementMethodResponse(
            account=account_message(account, pending), request=request_message(pending)
        )

    async def SetBillDelivery(
        self, request: pb.SetBillDeliveryRequest, context: Context
    ) -> pb.SetBillDeliveryResponse:
        account = await self._accounts.set_bill_delivery(
            current_caller(),
            request.account_id,
            request.bill_delivery.method,
            request.bill_delivery.address,
        )
        return pb.SetBillDeliveryResponse(account=account_message(account))

    async def SetLowBalanceThreshold(
        self, request: pb.SetLowBalanceThresholdRequest, context: Context
    ) -> pb.SetLowBalanceThresholdResponse:
        account = await self._accounts.set_low_balance_threshold(
            current_caller(),
            request.account_id,
            request.threshold.amount,
            request.threshold.currency,
        )
        return pb.SetLowBalanceThresholdResponse(account=account_message(account))

    async def MoveNumberToAccount(
        self, request: pb.MoveNumberToAccountRequest, context: Context
    ) -> pb.MoveNumberToAccountResponse:
        new_account = None
        if request.HasField("new_account"):
            new_account = (
                request.new_account.name,
                delivery_from(
                    request.new_account.bill_delivery,
                    request.new_account.HasField("bill_delivery"),
                ),
            )
        account, previous = await self._numbers.move_to_account(
            current_caller(),
            request.msisdn,
            request.account_id,
            new_account,
            company_id=request.company_id,
            actor=request.actor,
        )
        return pb.MoveNumberToAccountResponse(
            account=account_message(account), previous_account_id=previous
        )

    async def GetNumberBilling(
        self, request: pb.GetNumberBillingRequest, context: Context
    ) -> pb.GetNumberBillingResponse:
        account, limits = await self._numbers.number_billing(current_caller(), request.msisdn)
        return pb.GetNumberBillingResponse(
            account=account_message(account) if account else None,
            limits=[limit_message(limit, spent) for limit, spent in limits],
        )
