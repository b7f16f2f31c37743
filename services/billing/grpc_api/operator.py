"""BillingOperatorService (operator credentials): proto ⇄ use case."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from services.billing.grpc_api.convert import (
    METHOD_NAMES,
    account_message,
    delivery_from,
    entry_message,
    moment,
    money,
    request_message,
)
from services.billing.service import BillingCases
from services.billing.service.usage import RawRecord
from services.kit.context import current_caller
from services.kit.known_companies import KnownCompanies, KnownCompanyLookup
from vm.billing.v1 import billing_pb2 as pb
from vm.billing.v1 import billing_pb2_grpc as pb_grpc

Context = grpc.aio.ServicerContext

OPERATOR_SERVICE = pb.DESCRIPTOR.services_by_name["BillingOperatorService"].full_name


async def _records(
    requests: AsyncIterator[pb.IngestUsageRequest],
) -> AsyncIterator[list[RawRecord]]:
    async for request in requests:
        yield [
            RawRecord(
                record_id=r.record_id.strip(),
                msisdn=r.msisdn,
                kind=r.kind,
                charge=r.charge.amount,
                currency=r.charge.currency,
                quantity=r.quantity,
                at=moment(r.at, r.HasField("at")),
            )
            for r in request.records
        ]


class BillingOperatorServicer(KnownCompanyLookup, pb_grpc.BillingOperatorServiceServicer):
    response_type = pb.GetCompanyResponse

    def __init__(self, companies: KnownCompanies, cases: BillingCases) -> None:
        super().__init__(companies)
        self._cases = cases

    async def OpenCompanyAccount(
        self, request: pb.OpenCompanyAccountRequest, context: Context
    ) -> pb.OpenCompanyAccountResponse:
        account = await self._cases.accounts.operator_open_account(
            current_caller(),
            request.company_id,
            request.name,
            METHOD_NAMES.get(request.settlement_method, ""),
            request.credit_limit.amount,
            delivery_from(request.bill_delivery, request.HasField("bill_delivery")),
        )
        return pb.OpenCompanyAccountResponse(account=account_message(account))

    async def ListCompanyAccounts(
        self, request: pb.ListCompanyAccountsRequest, context: Context
    ) -> pb.ListCompanyAccountsResponse:
        accounts = await self._cases.accounts.company_accounts(current_caller(), request.company_id)
        return pb.ListCompanyAccountsResponse(accounts=[account_message(a) for a in accounts])

    async def RecordPayment(
        self, request: pb.RecordPaymentRequest, context: Context
    ) -> pb.RecordPaymentResponse:
        entry, account, replayed = await self._cases.money.record_payment(
            current_caller(),
            request.payment_id,
            request.company_id,
            request.account_id,
            request.amount.amount,
            request.amount.currency,
            moment(request.received_at, request.HasField("received_at")),
            request.description,
        )
        return pb.RecordPaymentResponse(
            entry=entry_message(entry), account=account_message(account), replayed=replayed
        )

    async def IngestUsage(
        self, request_iterator: AsyncIterator[pb.IngestUsageRequest], context: Context
    ) -> pb.IngestUsageResponse:
        result = await self._cases.usage.ingest(current_caller(), _records(request_iterator))
        return pb.IngestUsageResponse(
            received=result.received,
            charged=result.charged,
            duplicates=result.duplicates,
            rejected=result.rejected,
            rejections=[
                pb.RejectedRecord(record_id=record_id, reason=reason)
                for record_id, reason in result.rejections
            ],
        )

    async def ChargeSubscriptionFees(
        self, request: pb.ChargeSubscriptionFeesRequest, context: Context
    ) -> pb.ChargeSubscriptionFeesResponse:
        charged, already, total = await self._cases.usage.charge_fees(
            current_caller(), request.period.strip(), request.company_id
        )
        return pb.ChargeSubscriptionFeesResponse(
            numbers_charged=charged, numbers_already_charged=already, total=money(total)
        )

    async def ListCompanyEntries(
        self, request: pb.ListCompanyEntriesRequest, context: Context
    ) -> pb.ListCompanyEntriesResponse:
        entries, token, opening = await self._cases.accounts.operator_statement(
            current_caller(),
            request.company_id,
            request.account_id,
            getattr(request, "from"),
            request.to,
            request.page_size,
            request.page_token,
        )
        return pb.ListCompanyEntriesResponse(
            entries=[entry_message(e) for e in entries],
            next_page_token=token,
            opening_balance=money(opening),
        )

    async def StreamUsageRecords(
        self, request: pb.StreamUsageRecordsRequest, context: Context
    ) -> AsyncIterator[pb.StreamUsageRecordsResponse]:
        batches = await self._cases.usage.operator_records(
            current_caller(),
            request.company_id,
            list(request.msisdns),
            request.account_id,
            getattr(request, "from"),
            request.to,
        )
        async for rows in batches:
            yield pb.StreamUsageRecordsResponse(records=[_usage_record(row) for row in rows])

    async def ListSettlementRequests(
        self, request: pb.ListSettlementRequestsRequest, context: Context
    ) -> pb.ListSettlementRequestsResponse:
        found = await self._cases.accounts.settlement_requests(current_caller(), request.company_id)
        return pb.ListSettlementRequestsResponse(requests=[request_message(r) for r in found])

    async def DecideSettlementChange(
        self, request: pb.DecideSettlementChangeRequest, context: Context
    ) -> pb.DecideSettlementChangeResponse:
        decided, account = await self._cases.accounts.decide(
            current_caller(), request.request_id, request.approve, request.comment
        )
        return pb.DecideSettlementChangeResponse(
            request=request_message(decided), account=account_message(account)
        )


def _usage_record(row: dict) -> pb.UsageRecord:
    record = pb.UsageRecord(
        record_id=row["_id"],
        msisdn=row["msisdn"],
        kind=row["kind"],
        charge=money(row["charge"]),
        quantity=row.get("quantity", 0),
    )
    record.at.FromDatetime(row["at"])
    return record
