"""REST shapes of billing that several routers answer with (money, accounts, limits), and
billing's part of the number card, which the numbers router composes."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

import grpc
from pydantic import BaseModel, Field, StrictInt

from gateway.deps import BackendStubs
from gateway.fields import BillDeliveryIn, MoneyIn
from gateway.schemas import moment
from gateway.security import Credential
from vm.billing.v1 import accounts_pb2, resources_pb2
from vm.common.v1 import common_pb2

log = logging.getLogger(__name__)

TIMEOUT = 10.0
# The number card waits this long for billing's part, then shows catalog's alone.
CARD_TIMEOUT = 2.0
METHOD_NAMES = {
    resources_pb2.SETTLEMENT_METHOD_ADVANCE: "advance",
    resources_pb2.SETTLEMENT_METHOD_CREDIT: "credit",
}
METHOD_VALUES = {name: value for value, name in METHOD_NAMES.items()}
# Kopecks: any whole number (billing says which are acceptable); bounded so that it fits
# the int64 of the wire.
Kopecks = Annotated[StrictInt, Field(ge=-(10**15), le=10**15, examples=[150000])]


class Money(BaseModel):
    amount: Kopecks = Field(description="kopecks (a whole number)")
    currency: str = Field(default="RUB", max_length=8, examples=["RUB"])


class BillDelivery(BaseModel):
    method: str = Field(max_length=16, description="email or post", examples=["email"])
    address: str = Field(max_length=1000, examples=["buh@romashka.example"])


class SettlementRequestOut(BaseModel):
    id: str
    method: str
    credit_limit: Money
    status: str = Field(description="pending, approved or refused")
    requested_by: str
    requested_at: datetime
    comment: str


class AccountOut(BaseModel):
    id: str
    number: str
    name: str
    balance: Money
    available: Money
    settlement_method: str = Field(description="advance or credit")
    credit_limit: Money
    bill_delivery: BillDelivery
    number_count: int
    blocked: bool = Field(description="its numbers carry the financial block")
    opened_at: datetime
    pending_settlement_change: SettlementRequestOut | None = None
    low_balance_threshold: Money = Field(
        description="below it the company is told (`account.balance_low`); 0: never"
    )


class AccountBrief(BaseModel):
    id: str
    number: str
    balance: Money
    available: Money


class LimitOut(BaseModel):
    kind: str = Field(description="total, data, roaming, calls or sms")
    amount: Money
    action: str = Field(description="notify or block")
    spent: Money = Field(description="this month")
    reached: bool


def money(message: common_pb2.Money) -> Money:
    return Money(amount=message.amount, currency=message.currency or "RUB")


def money_message(value: Money | MoneyIn) -> common_pb2.Money:
    return common_pb2.Money(amount=value.amount, currency=value.currency)


def delivery_message(delivery: BillDelivery | BillDeliveryIn) -> resources_pb2.BillDelivery:
    return resources_pb2.BillDelivery(method=delivery.method, address=delivery.address)


def account_out(account: resources_pb2.Account) -> AccountOut:
    pending = None
    if account.HasField("pending_settlement_change"):
        request = account.pending_settlement_change
        pending = SettlementRequestOut(
            id=request.id,
            method=METHOD_NAMES.get(request.method, ""),
            credit_limit=money(request.credit_limit),
            status=request.status,
            requested_by=request.requested_by,
            requested_at=moment(request.requested_at),
            comment=request.comment,
        )
    return AccountOut(
        id=account.id,
        number=account.number,
        name=account.name,
        balance=money(account.balance),
        available=money(account.available),
        settlement_method=METHOD_NAMES.get(account.settlement_method, ""),
        credit_limit=money(account.credit_limit),
        bill_delivery=BillDelivery(
            method=account.bill_delivery.method, address=account.bill_delivery.address
        ),
        number_count=account.number_count,
        blocked=account.blocked,
        low_balance_threshold=money(account.low_balance_threshold),
        opened_at=moment(account.opened_at),
        pending_settlement_change=pending,
    )


def limit_out(limit: resources_pb2.SpendingLimit) -> LimitOut:
    return LimitOut(
        kind=limit.kind,
        amount=money(limit.amount),
        action=limit.action,
        spent=money(limit.spent),
        reached=limit.reached,
    )


async def card_billing(
    backends: BackendStubs, credential: Credential, msisdn: str
) -> tuple[AccountBrief | None, list[LimitOut]] | None:
    """Billing's part of the number card: the account and the limits; None when billing
    does not answer (the card then shows what catalog has)."""
    try:
        response = await backends.accounts.GetNumberBilling(
            accounts_pb2.GetNumberBillingRequest(msisdn=msisdn),
            metadata=credential.metadata,
            timeout=CARD_TIMEOUT,
        )
    except grpc.aio.AioRpcError as error:
        log.warning("billing left out of the number card", extra={"grpc": error.code().name})
        return None
    account = None
    if response.HasField("account"):
        a = response.account
        account = AccountBrief(
            id=a.id, number=a.number, balance=money(a.balance), available=money(a.available)
        )
    return account, [limit_out(limit) for limit in response.limits]
