"""The company's personal accounts (billing's AccountService and PromisedPaymentService):
the list and the card, opening one, the statement, the settlement method, bill delivery,
and promised payments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends, IdempotencyKey, ReplayableMetadata
from gateway.fields import (
    ACCOUNT_NAME_MAX,
    MAX_AMOUNT,
    BillDeliveryIn,
    Moment,
    MoneyIn,
    moment_text,
    whole_number,
)
from gateway.paging import PageSize, PageToken, page_of
from gateway.routers.billing_shapes import (
    METHOD_VALUES,
    TIMEOUT,
    AccountOut,
    Money,
    account_out,
    delivery_message,
    moment,
    money,
    money_message,
)
from gateway.security import CurrentCredential, needs
from vm.billing.v1 import accounts_pb2 as pb
from vm.billing.v1 import resources_pb2, transfers_pb2
from vm.common.v1 import common_pb2

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])
VIEW = needs("finance.view")
SETTINGS = needs("finance.settings")
PROMISE = needs("finance.promised_payment")
AccountId = Annotated[str, Path(min_length=1, max_length=64)]


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_page_token: str


class NewAccountIn(BaseModel):
    name: str = Field(default="", max_length=ACCOUNT_NAME_MAX, examples=["Филиал Тула"])
    bill_delivery: BillDeliveryIn | None = None


class EntryOut(BaseModel):
    id: str
    at: datetime
    kind: str = Field(
        description="payment, usage, subscription_fee, operation_fee, transfer, "
        "promised_payment, promised_payment_repayment"
    )
    amount: Money = Field(description="signed: positive adds to the balance")
    balance_after: Money
    ref: str
    description: str


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_page_token: str


class AdvanceIn(BaseModel):
    method: Literal["advance"]


class CreditIn(BaseModel):
    method: Literal["credit"]
    credit_limit: MoneyIn = Field(description="the limit asked")


SettlementIn = Annotated[AdvanceIn | CreditIn, Field(discriminator="method")]


class PromiseIn(BaseModel):
    amount: MoneyIn


class ThresholdIn(BaseModel):
    amount: Annotated[whole_number(0, MAX_AMOUNT), Field(examples=[100000])] = Field(  # type: ignore[valid-type]
        description="kopecks; 0: the company is not told of a low balance"
    )
    currency: Literal["RUB"] = "RUB"


class PromiseOut(BaseModel):
    id: str
    account_id: str
    amount: Money
    status: str = Field(description="open or repaid")
    created_at: datetime
    due_at: datetime
    repaid_at: datetime | None


class PromisePage(BaseModel):
    items: list[PromiseOut]
    next_page_token: str = Field(description="empty after the last page")
    cap: Money = Field(description="the most that may be promised now")


def promise_out(promise: resources_pb2.PromisedPayment) -> PromiseOut:
    return PromiseOut(
        id=promise.id,
        account_id=promise.account_id,
        amount=money(promise.amount),
        status=promise.status,
        created_at=moment(promise.created_at),
        due_at=moment(promise.due_at),
        repaid_at=moment(promise.repaid_at) if promise.HasField("repaid_at") else None,
    )


@router.get("", response_model=AccountPage, openapi_extra=VIEW)
async def list_accounts(
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> AccountPage:
    """The company's accounts with balance, available amount and number count."""
    response = await backends.accounts.ListAccounts(
        pb.ListAccountsRequest(page_size=page_size, page_token=page_token),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return AccountPage(
        items=[account_out(a) for a in response.accounts],
        next_page_token=response.next_page_token,
    )


@router.post("", response_model=AccountOut, status_code=201, openapi_extra=SETTINGS)
async def open_account(
    body: NewAccountIn, backends: Backends, metadata: ReplayableMetadata
) -> AccountOut:
    """A new, empty account on advance (bill delivery: as given, else e-mail to the
    company's contact)."""
    new = pb.NewAccount(name=body.name)
    if body.bill_delivery is not None:
        new.bill_delivery.CopyFrom(delivery_message(body.bill_delivery))
    response = await backends.accounts.OpenAccount(
        pb.OpenAccountRequest(account=new), metadata=metadata, timeout=TIMEOUT
    )
    return account_out(response.account)


@router.get("/{account_id}", response_model=AccountOut, openapi_extra=VIEW)
async def get_account(
    account_id: AccountId, backends: Backends, credential: CurrentCredential
) -> AccountOut:
    """One personal account: balance, available amount, settlement method, bill delivery."""
    response = await backends.accounts.GetAccount(
        pb.GetAccountRequest(account_id=account_id), metadata=credential.metadata, timeout=TIMEOUT
    )
    return account_out(response.account)


@router.get("/{account_id}/entries", response_model=EntryPage, openapi_extra=VIEW)
async def list_entries(
    account_id: AccountId,
    backends: Backends,
    credential: CurrentCredential,
    start: Annotated[Moment | None, Query(alias="from", description="RFC 3339 or date")] = None,
    end: Annotated[Moment | None, Query(alias="to", description="exclusive")] = None,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> EntryPage:
    """The statement: every ledger entry of the account in [from, to), oldest first."""
    message = pb.ListEntriesRequest(
        account_id=account_id, to=moment_text(end), page_size=page_size, page_token=page_token
    )
    setattr(message, "from", moment_text(start))
    response = await backends.accounts.ListEntries(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return EntryPage(
        items=[
            EntryOut(
                id=e.id,
                at=moment(e.at),
                kind=e.kind,
                amount=money(e.amount),
                balance_after=money(e.balance_after),
                ref=e.ref,
                description=e.description,
            )
            for e in response.entries
        ],
        next_page_token=response.next_page_token,
    )


@router.put("/{account_id}/settlement-method", response_model=AccountOut, openapi_extra=SETTINGS)
async def change_settlement_method(
    account_id: AccountId,
    body: SettlementIn,
    backends: Backends,
    credential: CurrentCredential,
) -> AccountOut:
    """To advance at once (the balance must not be negative); to credit opens a request
    for the operator, shown as `pending_settlement_change` until decided."""
    message = pb.ChangeSettlementMethodRequest(
        account_id=account_id, method=METHOD_VALUES[body.method]
    )
    if isinstance(body, CreditIn):
        message.credit_limit.CopyFrom(money_message(body.credit_limit))
    response = await backends.accounts.ChangeSettlementMethod(
        message, metadata=credential.metadata, timeout=TIMEOUT
    )
    return account_out(response.account)


@router.put("/{account_id}/bill-delivery", response_model=AccountOut, openapi_extra=SETTINGS)
async def set_bill_delivery(
    account_id: AccountId, body: BillDeliveryIn, backends: Backends, credential: CurrentCredential
) -> AccountOut:
    """Where and how the account's bills go: by e-mail or by post."""
    response = await backends.accounts.SetBillDelivery(
        pb.SetBillDeliveryRequest(account_id=account_id, bill_delivery=delivery_message(body)),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return account_out(response.account)


@router.put(
    "/{account_id}/low-balance-threshold", response_model=AccountOut, openapi_extra=SETTINGS
)
async def set_low_balance_threshold(
    account_id: AccountId, body: ThresholdIn, backends: Backends, credential: CurrentCredential
) -> AccountOut:
    """Below this balance the company is told once (`account.balance_low`: its webhooks,
    rules and the people who chose «Баланс ниже порога»), again after it rose back above."""
    response = await backends.accounts.SetLowBalanceThreshold(
        pb.SetLowBalanceThresholdRequest(
            account_id=account_id,
            threshold=common_pb2.Money(amount=body.amount, currency=body.currency),
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return account_out(response.account)


@router.post(
    "/{account_id}/promised-payments",
    response_model=PromiseOut,
    status_code=201,
    openapi_extra=PROMISE,
)
async def take_promised_payment(
    account_id: AccountId,
    body: PromiseIn,
    key: IdempotencyKey,
    backends: Backends,
    response: Response,
    credential: CurrentCredential,
) -> PromiseOut:
    """A short credit on an advance account (one open at a time, capped, repaid by itself
    after 7 days)."""
    answer = await backends.promised_payments.TakePromisedPayment(
        transfers_pb2.TakePromisedPaymentRequest(
            idempotency_key=key, account_id=account_id, amount=money_message(body.amount)
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return promise_out(answer.promised_payment)


@router.get("/{account_id}/promised-payments", response_model=PromisePage, openapi_extra=VIEW)
async def list_promised_payments(
    account_id: AccountId,
    backends: Backends,
    credential: CurrentCredential,
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> PromisePage:
    """The account's promised payments, open and repaid, newest first."""
    response = await backends.promised_payments.ListPromisedPayments(
        transfers_pb2.ListPromisedPaymentsRequest(account_id=account_id),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    items, next_token = page_of(response.promised_payments, page_size, page_token)
    return PromisePage(
        items=[promise_out(p) for p in items], cap=money(response.cap), next_page_token=next_token
    )
