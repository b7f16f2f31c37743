"""Billing's domain objects ⇄ proto messages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from services.billing.domain.accounts import ADVANCE, CREDIT, Account, BillDelivery
from services.billing.domain.ledger import CURRENCY, Entry
from services.billing.domain.limits import SpendingLimit
from services.billing.domain.promised_payments import PromisedPayment
from services.billing.domain.transfers import Transfer
from vm.billing.v1 import resources_pb2 as pb
from vm.common.v1 import common_pb2

METHOD_VALUES = {ADVANCE: pb.SETTLEMENT_METHOD_ADVANCE, CREDIT: pb.SETTLEMENT_METHOD_CREDIT}
METHOD_NAMES = {value: name for name, value in METHOD_VALUES.items()}


def money(kopecks: int) -> common_pb2.Money:
    return common_pb2.Money(amount=kopecks, currency=CURRENCY)


def timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def moment(stamp: Timestamp, given: bool) -> datetime | None:
    from datetime import UTC

    return stamp.ToDatetime(tzinfo=UTC) if given else None


def delivery_message(delivery: BillDelivery) -> pb.BillDelivery:
    return pb.BillDelivery(method=delivery.method, address=delivery.address)


def delivery_from(message: pb.BillDelivery, given: bool) -> BillDelivery | None:
    return BillDelivery(message.method, message.address) if given else None


def request_message(request: dict[str, Any] | None) -> pb.SettlementRequest | None:
    if not request:
        return None
    return pb.SettlementRequest(
        id=request["_id"],
        company_id=request["company_id"],
        account_id=request["account_id"],
        account_number=request["account_number"],
        method=METHOD_VALUES.get(request["method"], pb.SETTLEMENT_METHOD_UNSPECIFIED),
        credit_limit=money(request["credit_limit"]),
        status=request["status"],
        requested_by=request.get("requested_by_name") or request.get("requested_by", ""),
        requested_at=timestamp(request["requested_at"]),
        decided_at=timestamp(request.get("decided_at")),
        comment=request.get("comment", ""),
    )


def account_message(account: Account, pending: dict[str, Any] | None = None) -> pb.Account:
    return pb.Account(
        id=account.id,
        number=account.number,
        name=account.name,
        balance=money(account.balance),
        available=money(account.available),
        settlement_method=METHOD_VALUES.get(
            account.settlement_method, pb.SETTLEMENT_METHOD_UNSPECIFIED
        ),
        credit_limit=money(account.credit_limit),
        bill_delivery=delivery_message(account.bill_delivery),
        number_count=account.number_count,
        blocked=account.blocked,
        opened_at=timestamp(account.opened_at),
        pending_settlement_change=request_message(pending),
        low_balance_threshold=money(account.low_balance_threshold),
    )


def entry_message(entry: Entry) -> pb.LedgerEntry:
    return pb.LedgerEntry(
        id=entry.id,
        at=timestamp(entry.at),
        kind=entry.kind,
        amount=money(entry.amount),
        balance_after=money(entry.balance_after),
        ref=entry.ref,
        description=entry.description,
    )


def transfer_message(transfer: Transfer) -> pb.Transfer:
    return pb.Transfer(
        id=transfer.id,
        from_account_id=transfer.from_account_id,
        to_account_id=transfer.to_account_id,
        amount=money(transfer.amount),
        status=transfer.status,
        created_at=timestamp(transfer.created_at),
        created_by=transfer.created_by,
    )


def promise_message(promise: PromisedPayment) -> pb.PromisedPayment:
    return pb.PromisedPayment(
        id=promise.id,
        account_id=promise.account_id,
        amount=money(promise.amount),
        status=promise.status,
        created_at=timestamp(promise.created_at),
        due_at=timestamp(promise.due_at),
        repaid_at=timestamp(promise.repaid_at),
    )


def limit_message(limit: SpendingLimit, spent: int) -> pb.SpendingLimit:
    return pb.SpendingLimit(
        msisdn=limit.msisdn,
        kind=limit.kind,
        amount=money(limit.amount),
        action=limit.action,
        spent=money(spent),
        reached=spent >= limit.amount,
    )
