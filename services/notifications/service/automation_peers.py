"""What a rule's run asks of the other services, over gRPC.

Every call for a rule is made with a token of its owner acting for the rule (identity's
IssueRuleToken, with the operator's credential): catalog, billing and tickets check it as
they check the owner — their access now, their scopes — and the events they publish say a
rule caused them (actor kind "rule"), so that no rule fires on them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

import grpc

from services.kit.authz import Access
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import domain_error_from
from services.kit.grpc_client import call_metadata, caller_metadata
from services.notifications.domain.rules import number_facts
from vm.billing.v1 import limits_pb2, limits_pb2_grpc
from vm.catalog.v1 import (
    hierarchy_pb2,
    hierarchy_pb2_grpc,
    number_operations_pb2,
    number_operations_pb2_grpc,
    numbers_pb2,
    numbers_pb2_grpc,
)
from vm.common.v1 import common_pb2
from vm.identity.v1 import directory_pb2, directory_pb2_grpc, trust_pb2, trust_pb2_grpc
from vm.tickets.v1 import tickets_pb2, tickets_pb2_grpc

TIMEOUT = 10.0
# Catalog answers a number's change when the network confirmed it.
CHANGE_TIMEOUT = 30.0


@dataclass(frozen=True)
class Person:
    """A user of the company as a rule's message reaches them (empty: none known)."""

    user_id: str
    email: str
    phone: str


@dataclass(frozen=True)
class Channels:
    identity: grpc.aio.Channel
    catalog: grpc.aio.Channel
    billing: grpc.aio.Channel
    tickets: grpc.aio.Channel


class GrpcRulePeers:
    def __init__(self, channels: Channels, operator_token: str) -> None:
        self._trust = trust_pb2_grpc.TrustServiceStub(channels.identity)
        self._directory = directory_pb2_grpc.DirectoryServiceStub(channels.identity)
        self._numbers = numbers_pb2_grpc.NumberServiceStub(channels.catalog)
        self._hierarchy = hierarchy_pb2_grpc.HierarchyServiceStub(channels.catalog)
        self._operations = number_operations_pb2_grpc.NumberOperationServiceStub(channels.catalog)
        self._limits = limits_pb2_grpc.SpendingLimitServiceStub(channels.billing)
        self._tickets = tickets_pb2_grpc.TicketServiceStub(channels.tickets)
        self._access = CallerAccessResolver(channels.identity)
        self._operator = call_metadata(f"Operator {operator_token}")

    async def rule_caller(self, company_id: str, owner_id: str, rule_id: str) -> Caller:
        """The owner acting for the rule; NotFound or NotAllowed when the owner is gone
        or not active."""
        try:
            issued = await self._trust.IssueRuleToken(
                trust_pb2.IssueRuleTokenRequest(
                    company_id=company_id, user_id=owner_id, rule_id=rule_id
                ),
                metadata=self._operator,
                timeout=TIMEOUT,
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "identity") from error
        return Caller(
            kind="user",
            company_id=company_id,
            user_id=owner_id,
            session_id=rule_id,
            token=issued.access_token,
            rule_id=rule_id,
        )

    async def access(self, caller: Caller) -> Access:
        return await self._access.access(caller)

    async def number_facts(self, caller: Caller, msisdn: str) -> dict[str, object]:
        """The number's node path and tariff, as far as the owner may see it."""
        metadata = caller_metadata(caller)
        try:
            number = await self._numbers.GetNumber(
                numbers_pb2.GetNumberRequest(msisdn=msisdn), metadata=metadata, timeout=TIMEOUT
            )
            tree = await self._hierarchy.GetHierarchy(
                hierarchy_pb2.GetHierarchyRequest(), metadata=metadata, timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "catalog") from error
        parents = {node.id: node.parent_id for node in tree.nodes}
        return number_facts(_path(parents, number.number.node_id), number.number.tariff.id)

    async def set_block(self, caller: Caller, msisdn: str, block_type: str) -> None:
        await self._call(
            "catalog",
            self._operations.SetBlock(
                number_operations_pb2.SetBlockRequest(msisdn=msisdn, type=block_type),
                metadata=caller_metadata(caller),
                timeout=CHANGE_TIMEOUT,
            ),
        )

    async def remove_block(self, caller: Caller, msisdn: str, block_type: str) -> None:
        await self._call(
            "catalog",
            self._operations.RemoveBlock(
                number_operations_pb2.RemoveBlockRequest(msisdn=msisdn, type=block_type),
                metadata=caller_metadata(caller),
                timeout=CHANGE_TIMEOUT,
            ),
        )

    async def set_limit(
        self, caller: Caller, msisdn: str, kind: str, amount: int, action: str
    ) -> None:
        request = limits_pb2.SetSpendingLimitRequest(
            msisdn=msisdn,
            kind=kind,
            amount=common_pb2.Money(amount=amount, currency="RUB"),
            action=action,
        )
        await self._call(
            "billing",
            self._limits.SetSpendingLimit(
                request, metadata=caller_metadata(caller), timeout=TIMEOUT
            ),
        )

    async def open_ticket(
        self, caller: Caller, category: str, subject: str, text: str, msisdns: Sequence[str]
    ) -> str:
        request = tickets_pb2.CreateTicketRequest(
            category=category, subject=subject, text=text, msisdns=list(msisdns)
        )
        try:
            created = await self._tickets.CreateTicket(
                request, metadata=caller_metadata(caller), timeout=TIMEOUT
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "tickets") from error
        return str(created.ticket.id)

    async def people(self, company_id: str, user_ids: Sequence[str]) -> dict[str, Person]:
        """The company's active users among `user_ids` with their e-mail and phone."""
        if not user_ids:
            return {}
        try:
            answer = await self._directory.ListCompanyPeople(
                directory_pb2.ListCompanyPeopleRequest(
                    company_id=company_id, user_ids=list(user_ids), page_size=len(user_ids)
                ),
                metadata=self._operator,
                timeout=TIMEOUT,
            )
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, "identity") from error
        return {p.user_id: Person(p.user_id, p.email, p.phone) for p in answer.people}

    async def _call(self, service: str, call: Awaitable[object]) -> None:
        try:
            await call
        except grpc.aio.AioRpcError as error:
            raise domain_error_from(error, service) from error


def _path(parents: dict[str, str], node_id: str) -> list[str]:
    """The node's ancestors, root first, then the node (bounded against a broken tree)."""
    chain: list[str] = []
    current = node_id
    while current and current not in chain and len(chain) < 64:
        chain.append(current)
        current = parents.get(current, "")
    return list(reversed(chain))
