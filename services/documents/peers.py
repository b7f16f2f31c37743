"""What documents asks other services, over gRPC.

- With the caller's own credential, at the moment of the request (zero trust: catalog
  decides what the caller sees): the numbers and the hierarchy of a report
  (`NumberService.GetNumber`, `ExportNumbers`, `HierarchyService.GetHierarchy`), and a
  catalog operation the journal has not heard of yet or that is to be cancelled
  (catalog's `vm.common.v1.OperationsService`).
- With the operator's credential, from the worker (which runs later, when the caller's
  token may have expired): the company's requisites (identity's `CompanyService`), its
  accounts, ledger entries and rated usage records (billing's `BillingOperatorService`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from services.documents.domain.documents import LedgerLine
from services.documents.domain.requisites import Requisites
from services.kit.context import Caller
from services.kit.errors import NotFound, domain_error_from
from services.kit.grpc_client import call_metadata, caller_metadata
from vm.billing.v1 import billing_pb2, billing_pb2_grpc
from vm.catalog.v1 import (
    hierarchy_pb2,
    hierarchy_pb2_grpc,
    numbers_pb2,
    numbers_pb2_grpc,
)
from vm.common.v1 import common_pb2, operations_pb2, operations_pb2_grpc
from vm.identity.v1 import companies_pb2, companies_pb2_grpc

TIMEOUT_SECONDS = 10.0
STREAM_TIMEOUT_SECONDS = 600.0
# A short list of numbers is looked up one by one; a longer one against the whole export.
LOOKUP_AT_MOST = 100
LOOKUPS_AT_ONCE = 16
ENTRIES_PAGE = 500
Metadata = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Node:
    id: str
    parent_id: str
    name: str


class CatalogPeer:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._numbers = numbers_pb2_grpc.NumberServiceStub(channel)
        self._hierarchy = hierarchy_pb2_grpc.HierarchyServiceStub(channel)
        self._operations = operations_pb2_grpc.OperationsServiceStub(channel)

    async def hierarchy(self, caller: Caller) -> dict[str, Node]:
        try:
            tree = await self._hierarchy.GetHierarchy(
                hierarchy_pb2.GetHierarchyRequest(),
                metadata=caller_metadata(caller),
                timeout=TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "catalog") from error
        return {n.id: Node(n.id, n.parent_id, n.name) for n in tree.nodes}

    async def numbers(
        self, caller: Caller, msisdns: Sequence[str], node_id: str
    ) -> list[numbers_pb2.Number]:
        """The numbers the caller sees: those listed (NotFound, by count, when some are
        not among them) or the node's subtree."""
        metadata = caller_metadata(caller)
        if msisdns and len(msisdns) <= LOOKUP_AT_MOST:
            gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)
            found = await asyncio.gather(*(self._one(m, metadata, gate) for m in msisdns))
            numbers = [n for n in found if n is not None]
        else:
            wanted = set(msisdns)
            numbers = [
                n async for n in self._export(metadata, node_id) if not wanted or n.msisdn in wanted
            ]
        if msisdns and len(numbers) < len(msisdns):
            missing = len(msisdns) - len(numbers)
            raise NotFound(f"{missing} of the numbers are not found among yours")
        return numbers

    async def _one(
        self, msisdn: str, metadata: Metadata, gate: asyncio.Semaphore
    ) -> numbers_pb2.Number | None:
        async with gate:
            try:
                answer = await self._numbers.GetNumber(
                    numbers_pb2.GetNumberRequest(msisdn=msisdn),
                    metadata=metadata,
                    timeout=TIMEOUT_SECONDS,
                )
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.NOT_FOUND:
                    return None
                raise domain_error_from(error, "catalog") from error
        return answer.number

    async def _export(self, metadata: Metadata, node_id: str) -> AsyncIterator[numbers_pb2.Number]:
        call = self._numbers.ExportNumbers(
            numbers_pb2.ExportNumbersRequest(filter=numbers_pb2.NumberFilter(node_id=node_id)),
            metadata=metadata,
            timeout=STREAM_TIMEOUT_SECONDS,
        )
        try:
            async for page in call:
                for number in page.numbers:
                    yield number
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "catalog") from error

    # --- catalog's operations, for the journal ---

    async def operation(self, caller: Caller, operation_id: str) -> common_pb2.Operation:
        answer = await self._call(
            self._operations.GetOperation,
            operations_pb2.GetOperationRequest(operation_id=operation_id),
            caller,
        )
        return answer.operation

    async def results(
        self, caller: Caller, operation_id: str, status: str, size: int, token: str
    ) -> tuple[list[common_pb2.OperationTargetResult], str]:
        answer = await self._call(
            self._operations.ListOperationResults,
            operations_pb2.ListOperationResultsRequest(
                operation_id=operation_id, status=status, page_size=size, page_token=token
            ),
            caller,
        )
        return list(answer.results), answer.next_page_token

    async def cancel(self, caller: Caller, operation_id: str) -> common_pb2.Operation:
        answer = await self._call(
            self._operations.CancelOperation,
            operations_pb2.CancelOperationRequest(operation_id=operation_id),
            caller,
        )
        return answer.operation

    @staticmethod
    async def _call(method: Any, request: Any, caller: Caller) -> Any:
        try:
            return await method(request, metadata=caller_metadata(caller), timeout=TIMEOUT_SECONDS)
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "catalog") from error


@dataclass(frozen=True)
class AccountFacts:
    id: str
    number: str
    name: str
    delivery_method: str
    delivery_address: str


@dataclass(frozen=True)
class Statement:
    opening_balance: int
    entries: list[LedgerLine]


@dataclass(frozen=True)
class UsageRow:
    msisdn: str
    kind: str
    charge: int
    quantity: int
    at: Any  # datetime


class OperatorPeers:
    """What the worker (and the request's checks) ask with the operator's credential."""

    def __init__(
        self, billing: grpc.aio.Channel, identity: grpc.aio.Channel, operator_token: str
    ) -> None:
        self._billing = billing_pb2_grpc.BillingOperatorServiceStub(billing)
        self._companies = companies_pb2_grpc.CompanyServiceStub(identity)
        self._token = operator_token

    def _metadata(self) -> Metadata:
        return call_metadata(f"Operator {self._token}")

    async def company(self, company_id: str) -> Requisites:
        try:
            answer = await self._companies.GetCompany(
                companies_pb2.GetCompanyRequest(company_id=company_id),
                metadata=self._metadata(),
                timeout=TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "identity") from error
        c = answer.company
        return Requisites(
            name=c.name,
            inn=c.inn,
            kpp=c.kpp,
            ogrn=c.ogrn,
            address=c.legal_address,
            contract_number=c.contract_number,
            main_number=c.main_number,
            email=c.contact_email,
        )

    async def accounts(self, company_id: str) -> dict[str, AccountFacts]:
        try:
            answer = await self._billing.ListCompanyAccounts(
                billing_pb2.ListCompanyAccountsRequest(company_id=company_id),
                metadata=self._metadata(),
                timeout=TIMEOUT_SECONDS,
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "billing") from error
        return {
            a.id: AccountFacts(
                a.id, a.number, a.name, a.bill_delivery.method, a.bill_delivery.address
            )
            for a in answer.accounts
        }

    async def statement(self, company_id: str, account_id: str, start: str, end: str) -> Statement:
        """Every entry of the account in [start, end), in time order, and the balance at
        `start`."""
        entries: list[LedgerLine] = []
        token = ""
        opening = 0
        while True:
            try:
                page = await self._billing.ListCompanyEntries(
                    billing_pb2.ListCompanyEntriesRequest(
                        company_id=company_id,
                        account_id=account_id,
                        to=end,
                        page_size=ENTRIES_PAGE,
                        page_token=token,
                        **{"from": start},
                    ),
                    metadata=self._metadata(),
                    timeout=TIMEOUT_SECONDS,
                )
            except grpc.aio.AioRpcError as error:
                raise domain_error_from(error, "billing") from error
            if not token:
                opening = page.opening_balance.amount
            entries += [
                LedgerLine(
                    e.at.ToDatetime(),
                    e.kind,
                    e.amount.amount,
                    e.description,
                    e.ref,
                )
                for e in page.entries
            ]
            token = page.next_page_token
            if not token:
                return Statement(opening, entries)

    async def usage(
        self,
        company_id: str,
        start: str,
        end: str,
        *,
        msisdns: Sequence[str] = (),
        account_id: str = "",
    ) -> AsyncIterator[list[UsageRow]]:
        """Rated usage records in [start, end), by number then time, in batches."""
        call = self._billing.StreamUsageRecords(
            billing_pb2.StreamUsageRecordsRequest(
                company_id=company_id,
                msisdns=list(msisdns),
                account_id=account_id,
                to=end,
                **{"from": start},
            ),
            metadata=self._metadata(),
            timeout=STREAM_TIMEOUT_SECONDS,
        )
        try:
            async for batch in call:
                yield [
                    UsageRow(r.msisdn, r.kind, r.charge.amount, r.quantity, r.at.ToDatetime())
                    for r in batch.records
                ]
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "billing") from error
