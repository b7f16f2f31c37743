"""Transfers between the company's accounts (billing's TransferService)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from gateway.deps import Backends, IdempotencyKey
from gateway.fields import NOT_BLANK, MoneyIn
from gateway.paging import PageSize, PageToken
from gateway.routers.billing_shapes import TIMEOUT, Money, moment, money, money_message
from gateway.security import CurrentCredential, needs
from vm.billing.v1 import resources_pb2
from vm.billing.v1 import transfers_pb2 as pb

router = APIRouter(prefix="/api/v1/transfers", tags=["accounts"])


class TransferIn(BaseModel):
    from_account_id: str = Field(min_length=1, max_length=64, pattern=NOT_BLANK)
    to_account_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=NOT_BLANK,
        description="another account than from_account_id",
    )
    amount: MoneyIn


class TransferOut(BaseModel):
    id: str
    from_account_id: str
    to_account_id: str
    amount: Money
    status: str
    created_at: datetime


class TransferPage(BaseModel):
    items: list[TransferOut]
    next_page_token: str


def transfer_out(transfer: resources_pb2.Transfer) -> TransferOut:
    return TransferOut(
        id=transfer.id,
        from_account_id=transfer.from_account_id,
        to_account_id=transfer.to_account_id,
        amount=money(transfer.amount),
        status=transfer.status,
        created_at=moment(transfer.created_at),
    )


@router.post(
    "", response_model=TransferOut, status_code=201, openapi_extra=needs("finance.transfer")
)
async def create_transfer(
    body: TransferIn,
    key: IdempotencyKey,
    backends: Backends,
    response: Response,
    credential: CurrentCredential,
) -> TransferOut:
    """Money from a donor account to another account of the company, never beyond the
    donor's available amount (409 insufficient_funds). The same Idempotency-Key with the
    same body answers the first transfer again; with another body, 409."""
    answer = await backends.transfers.CreateTransfer(
        pb.CreateTransferRequest(
            idempotency_key=key,
            from_account_id=body.from_account_id,
            to_account_id=body.to_account_id,
            amount=money_message(body.amount),
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return transfer_out(answer.transfer)


@router.get("", response_model=TransferPage, openapi_extra=needs("finance.view"))
async def list_transfers(
    backends: Backends,
    credential: CurrentCredential,
    account_id: str = Query(default="", max_length=64, description="from or to this account"),
    page_size: PageSize = 0,
    page_token: PageToken = "",
) -> TransferPage:
    """The company's transfers, newest first."""
    response = await backends.transfers.ListTransfers(
        pb.ListTransfersRequest(account_id=account_id, page_size=page_size, page_token=page_token),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return TransferPage(
        items=[transfer_out(t) for t in response.transfers],
        next_page_token=response.next_page_token,
    )
