"""A number's side in billing: which account it is billed to, its spending limits and its
usage (billing's AccountService, SpendingLimitService and UsageService)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.deps import Backends
from gateway.fields import (
    ACCOUNT_NAME_MAX,
    NOT_BLANK,
    BillDeliveryIn,
    LimitAction,
    LimitKind,
    Moment,
    MoneyIn,
    moment_text,
)
from gateway.paging import PageSize, PageToken, page_of
from gateway.routers.billing_shapes import (
    TIMEOUT,
    AccountOut,
    LimitOut,
    Money,
    account_out,
    delivery_message,
    limit_out,
    money,
    money_message,
)
from gateway.routers.numbers import Msisdn
from gateway.security import CurrentCredential, needs
from vm.billing.v1 import accounts_pb2, limits_pb2, usage_pb2

router = APIRouter(prefix="/api/v1/numbers", tags=["number billing"])
VIEW = needs("numbers.view")
LIMITS = needs("numbers.limits")
SETTINGS = needs("finance.settings")
Kind = Annotated[LimitKind, Path(examples=["total"])]


class NewAccountIn(BaseModel):
    name: str = Field(default="", max_length=ACCOUNT_NAME_MAX)
    bill_delivery: BillDeliveryIn | None = None


class ToAccountIn(BaseModel):
    """An existing account of the company."""

    model_config = ConfigDict(extra="forbid")
    account_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)


class ToNewAccountIn(BaseModel):
    """A new account, opened for the number."""

    model_config = ConfigDict(extra="forbid")
    new_account: NewAccountIn


# Either account_id or new_account, never both.
NumberAccountIn = ToAccountIn | ToNewAccountIn


class NumberAccountOut(BaseModel):
    msisdn: str
    account: AccountOut
    previous_account_id: str | None


class LimitsOut(BaseModel):
    items: list[LimitOut]
    next_page_token: str = Field(description="empty after the last page")


class LimitIn(BaseModel):
    amount: MoneyIn
    action: LimitAction = Field(description="notify or block", examples=["notify"])


class UsageKindOut(BaseModel):
    kind: str = Field(description="data, roaming, calls or sms")
    charged: Money
    quantity: int
    unit: str = Field(description="MB, min or sms")
    records: int


class UsageOut(BaseModel):
    msisdn: str
    start: str = Field(serialization_alias="from")
    end: str = Field(serialization_alias="to")
    kinds: list[UsageKindOut]
    total: Money


@router.put("/{msisdn}/account", response_model=NumberAccountOut, openapi_extra=SETTINGS)
async def move_to_account(
    msisdn: Msisdn, body: NumberAccountIn, backends: Backends, credential: CurrentCredential
) -> NumberAccountOut:
    """Bills the number to another existing account, or to a new one opened for it."""
    message = accounts_pb2.MoveNumberToAccountRequest(msisdn=msisdn)
    if isinstance(body, ToAccountIn):
        message.account_id = body.account_id
    else:
        message.new_account.name = body.new_account.name
        if body.new_account.bill_delivery is not None:
            message.new_account.bill_delivery.CopyFrom(
                delivery_message(body.new_account.bill_delivery)
            )
    response = await backends.accounts.MoveNumberToAccount(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return NumberAccountOut(
        msisdn=msisdn,
        account=account_out(response.account),
        previous_account_id=response.previous_account_id or None,
    )


@router.get("/{msisdn}/limits", response_model=LimitsOut, openapi_extra=VIEW)
async def list_limits(
    msisdn: Msisdn,
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> LimitsOut:
    """The number's monthly limits with this month's spending."""
    response = await backends.spending_limits.ListSpendingLimits(
        limits_pb2.ListSpendingLimitsRequest(msisdn=msisdn),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    items, next_token = page_of(response.limits, page_size, page_token)
    return LimitsOut(items=[limit_out(limit) for limit in items], next_page_token=next_token)


@router.put("/{msisdn}/limits/{kind}", response_model=LimitOut, openapi_extra=LIMITS)
async def set_limit(
    msisdn: Msisdn, kind: Kind, body: LimitIn, backends: Backends, credential: CurrentCredential
) -> LimitOut:
    """A monthly limit of a kind (total, data, roaming, calls, sms): on reaching it the
    company is told (notify) or the number is blocked until the month ends (block)."""
    response = await backends.spending_limits.SetSpendingLimit(
        limits_pb2.SetSpendingLimitRequest(
            msisdn=msisdn, kind=kind, amount=money_message(body.amount), action=body.action
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return limit_out(response.limit)


@router.delete("/{msisdn}/limits/{kind}", status_code=204, openapi_extra=LIMITS)
async def remove_limit(
    msisdn: Msisdn, kind: Kind, backends: Backends, credential: CurrentCredential
) -> Response:
    """Remove the number's spending limit of one kind."""
    await backends.spending_limits.RemoveSpendingLimit(
        limits_pb2.RemoveSpendingLimitRequest(msisdn=msisdn, kind=kind),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return Response(status_code=204)


@router.get(
    "/{msisdn}/usage",
    response_model=UsageOut,
    response_model_by_alias=True,
    openapi_extra=VIEW,
)
async def usage(
    msisdn: Msisdn,
    backends: Backends,
    credential: CurrentCredential,
    start: Annotated[Moment | None, Query(alias="from", description="default: month start")] = None,
    end: Annotated[Moment | None, Query(alias="to", description="exclusive; default now")] = None,
) -> UsageOut:
    """Charges and consumption of the number by kind for [from, to)."""
    message = usage_pb2.GetNumberUsageRequest(msisdn=msisdn, to=moment_text(end))
    setattr(message, "from", moment_text(start))
    response = await backends.usage.GetNumberUsage(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return UsageOut(
        msisdn=response.msisdn,
        start=getattr(response, "from"),
        end=response.to,
        kinds=[
            UsageKindOut(
                kind=k.kind,
                charged=money(k.charged),
                quantity=k.quantity,
                unit=k.unit,
                records=k.records,
            )
            for k in response.kinds
        ],
        total=money(response.total),
    )
