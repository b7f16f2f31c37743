"""SpendingLimitService and UsageService: proto ⇄ use case."""

from __future__ import annotations

import grpc

from services.billing.grpc_api.convert import limit_message, money
from services.billing.service import BillingCases
from services.kit.context import current_caller
from vm.billing.v1 import limits_pb2 as pb
from vm.billing.v1 import limits_pb2_grpc as pb_grpc
from vm.billing.v1 import usage_pb2, usage_pb2_grpc

Context = grpc.aio.ServicerContext

LIMIT_SERVICE = pb.DESCRIPTOR.services_by_name["SpendingLimitService"].full_name
USAGE_SERVICE = usage_pb2.DESCRIPTOR.services_by_name["UsageService"].full_name
# Catalog's bulk operations call these with the operator's credential.
OPERATOR_TOO = frozenset(
    {f"/{LIMIT_SERVICE}/SetSpendingLimit", f"/{LIMIT_SERVICE}/RemoveSpendingLimit"}
)


class SpendingLimitServicer(pb_grpc.SpendingLimitServiceServicer):
    def __init__(self, cases: BillingCases) -> None:
        self._usage = cases.usage

    async def ListSpendingLimits(
        self, request: pb.ListSpendingLimitsRequest, context: Context
    ) -> pb.ListSpendingLimitsResponse:
        limits = await self._usage.limits(current_caller(), request.msisdn)
        return pb.ListSpendingLimitsResponse(
            limits=[limit_message(limit, spent) for limit, spent in limits]
        )

    async def SetSpendingLimit(
        self, request: pb.SetSpendingLimitRequest, context: Context
    ) -> pb.SetSpendingLimitResponse:
        limit, spent = await self._usage.set_limit(
            current_caller(),
            request.msisdn,
            request.kind,
            request.amount.amount,
            request.amount.currency,
            request.action,
            company_id=request.company_id,
            actor=request.actor,
        )
        return pb.SetSpendingLimitResponse(limit=limit_message(limit, spent))

    async def RemoveSpendingLimit(
        self, request: pb.RemoveSpendingLimitRequest, context: Context
    ) -> pb.RemoveSpendingLimitResponse:
        await self._usage.remove_limit(
            current_caller(),
            request.msisdn,
            request.kind,
            company_id=request.company_id,
            actor=request.actor,
        )
        return pb.RemoveSpendingLimitResponse()


class UsageServicer(usage_pb2_grpc.UsageServiceServicer):
    def __init__(self, cases: BillingCases) -> None:
        self._usage = cases.usage

    async def GetNumberUsage(
        self, request: usage_pb2.GetNumberUsageRequest, context: Context
    ) -> usage_pb2.GetNumberUsageResponse:
        msisdn, start, end, kinds = await self._usage.usage(
            current_caller(), request.msisdn, getattr(request, "from"), request.to
        )
        return usage_pb2.GetNumberUsageResponse(
            msisdn=msisdn,
            to=end.isoformat(),
            kinds=[
                usage_pb2.UsageByKind(
                    kind=k.kind,
                    charged=money(k.charged),
                    quantity=k.quantity,
                    unit=k.unit,
                    records=k.records,
                )
                for k in kinds
            ],
            total=money(sum(k.charged for k in kinds)),
            **{"from": start.isoformat()},
        )
