"""The bulk worker's way to billing for the bulk types billing keeps: spending limits and
which account a number is billed to.

The worker runs an operation long after its request (a scheduled one, hours later), so it
cannot use the caller's token: it calls billing with the operator's credential, naming the
company and the user the operation runs for. Who may was checked when the operation was
started (catalog checked the type's permission on every number); billing records the actor.
"""

from __future__ import annotations

import grpc

from services.catalog.domain import bulk
from services.kit.context import Caller
from services.kit.errors import domain_error_from
from services.kit.grpc_client import call_metadata, caller_metadata
from vm.billing.v1 import accounts_pb2, accounts_pb2_grpc, limits_pb2, limits_pb2_grpc
from vm.common.v1 import common_pb2

TIMEOUT_SECONDS = 10.0


class BillingAccountChanges:
    def __init__(self, channel: grpc.aio.Channel, operator_token: str) -> None:
        self._limits = limits_pb2_grpc.SpendingLimitServiceStub(channel)
        self._accounts = accounts_pb2_grpc.AccountServiceStub(channel)
        self._metadata = call_metadata(f"Operator {operator_token}")

    async def check_account(self, caller: Caller, account_id: str) -> None:
        """The account is the caller's company's (asked as the caller: another company's
        account is not found)."""
        try:
            await self._accounts.GetAccount(
                accounts_pb2.GetAccountRequest(account_id=account_id),
                metadata=caller_metadata(caller),
                timeout=TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "billing") from error

    async def apply(
        self, company_id: str, actor: str, msisdn: str, action: bulk.AccountChange
    ) -> str:
        try:
            return await self._apply(company_id, actor, msisdn, action)
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "billing") from error

    async def _apply(
        self, company_id: str, actor: str, msisdn: str, action: bulk.AccountChange
    ) -> str:
        options = {"metadata": self._metadata, "timeout": TIMEOUT_SECONDS}
        match action:
            case bulk.SetLimit(kind, amount, limit_action):
                await self._limits.SetSpendingLimit(
                    limits_pb2.SetSpendingLimitRequest(
                        msisdn=msisdn,
                        kind=kind,
                        amount=common_pb2.Money(amount=amount, currency="RUB"),
                        action=limit_action,
                        company_id=company_id,
                        actor=actor,
                    ),
                    **options,
                )
            case bulk.RemoveLimit(kind):
                await self._limits.RemoveSpendingLimit(
                    limits_pb2.RemoveSpendingLimitRequest(
                        msisdn=msisdn, kind=kind, company_id=company_id, actor=actor
                    ),
                    **options,
                )
            case bulk.MoveToAccount(account_id):
                moved = await self._accounts.MoveNumberToAccount(
                    accounts_pb2.MoveNumberToAccountRequest(
                        msisdn=msisdn, account_id=account_id, company_id=company_id, actor=actor
                    ),
                    **options,
                )
                if moved.previous_account_id == account_id:
                    return "unchanged"
        return "changed"
