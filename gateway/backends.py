"""One gRPC channel per backend service, created in the app's lifespan, and the stubs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.api_key_tokens import ApiKeyTokens
from services.kit.auth import TokenVerifier
from services.kit.grpc_client import open_channel
from services.kit.identity_keys import identity_key_source
from services.kit.settings import SERVICE_NAMES, Settings
from vm.billing.v1 import accounts_pb2_grpc, limits_pb2_grpc, transfers_pb2_grpc, usage_pb2_grpc
from vm.catalog.v1 import (
    bulk_operations_pb2_grpc,
    hierarchy_pb2_grpc,
    number_operations_pb2_grpc,
    numbers_pb2_grpc,
    tariffs_pb2_grpc,
)
from vm.common.v1 import operations_pb2_grpc
from vm.documents.v1 import (
    documents_pb2_grpc,
    forms_pb2_grpc,
    reports_pb2_grpc,
)
from vm.identity.v1 import (
    api_keys_pb2_grpc,
    audit_pb2_grpc,
    auth_pb2_grpc,
    profile_pb2_grpc,
    roles_pb2_grpc,
    users_pb2_grpc,
)
from vm.notifications.v1 import notifications_pb2_grpc
from vm.tickets.v1 import tickets_pb2_grpc

HEALTH_TIMEOUT_SECONDS = 1.5


@dataclass
class Backends:
    channels: dict[str, grpc.aio.Channel]
    verifier: TokenVerifier
    auth: auth_pb2_grpc.AuthServiceStub
    profile: profile_pb2_grpc.ProfileServiceStub
    users: users_pb2_grpc.UserServiceStub
    roles: roles_pb2_grpc.RoleServiceStub
    audit: audit_pb2_grpc.AuditServiceStub
    api_keys: api_keys_pb2_grpc.ApiKeyServiceStub
    hierarchy: hierarchy_pb2_grpc.HierarchyServiceStub
    catalogue: tariffs_pb2_grpc.TariffCatalogServiceStub
    numbers: numbers_pb2_grpc.NumberServiceStub
    number_operations: number_operations_pb2_grpc.NumberOperationServiceStub
    bulk_operations: bulk_operations_pb2_grpc.BulkOperationServiceStub
    tickets: tickets_pb2_grpc.TicketServiceStub
    # Access tokens exchanged for API keys presented as bearer credentials.
    api_key_tokens: ApiKeyTokens
    accounts: accounts_pb2_grpc.AccountServiceStub
    transfers: transfers_pb2_grpc.TransferServiceStub
    promised_payments: transfers_pb2_grpc.PromisedPaymentServiceStub
    spending_limits: limits_pb2_grpc.SpendingLimitServiceStub
    usage: usage_pb2_grpc.UsageServiceStub
    journal: operations_pb2_grpc.OperationsServiceStub
    documents: documents_pb2_grpc.DocumentServiceStub
    reports: reports_pb2_grpc.ReportServiceStub
    forms: forms_pb2_grpc.FormServiceStub
    webhooks: notifications_pb2_grpc.WebhookServiceStub
    automation: notifications_pb2_grpc.AutomationServiceStub
    notification_preferences: notifications_pb2_grpc.NotificationPreferencesServiceStub

    @classmethod
    def connect(cls, settings: Settings) -> Backends:
        channels = {name: open_channel(settings.grpc_addr(name)) for name in SERVICE_NAMES}
        verifier = TokenVerifier(
            identity_key_source(channels["identity"]),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
        )
        identity = channels["identity"]
        api_keys = api_keys_pb2_grpc.ApiKeyServiceStub(identity)
        return cls(
            channels=channels,
            verifier=verifier,
            auth=auth_pb2_grpc.AuthServiceStub(identity),
            profile=profile_pb2_grpc.ProfileServiceStub(identity),
            users=users_pb2_grpc.UserServiceStub(identity),
            roles=roles_pb2_grpc.RoleServiceStub(identity),
            audit=audit_pb2_grpc.AuditServiceStub(identity),
            api_keys=api_keys,
            hierarchy=hierarchy_pb2_grpc.HierarchyServiceStub(channels["catalog"]),
            catalogue=tariffs_pb2_grpc.TariffCatalogServiceStub(channels["catalog"]),
            numbers=numbers_pb2_grpc.NumberServiceStub(channels["catalog"]),
            number_operations=number_operations_pb2_grpc.NumberOperationServiceStub(
                channels["catalog"]
            ),
            bulk_operations=bulk_operations_pb2_grpc.BulkOperationServiceStub(channels["catalog"]),
            tickets=tickets_pb2_grpc.TicketServiceStub(channels["tickets"]),
            api_key_tokens=ApiKeyTokens(api_keys, ttl_seconds=settings.api_key_cache_seconds),
            accounts=accounts_pb2_grpc.AccountServiceStub(channels["billing"]),
            transfers=transfers_pb2_grpc.TransferServiceStub(channels["billing"]),
            promised_payments=transfers_pb2_grpc.PromisedPaymentServiceStub(channels["billing"]),
            spending_limits=limits_pb2_grpc.SpendingLimitServiceStub(channels["billing"]),
            usage=usage_pb2_grpc.UsageServiceStub(channels["billing"]),
            journal=operations_pb2_grpc.OperationsServiceStub(channels["documents"]),
            documents=documents_pb2_grpc.DocumentServiceStub(channels["documents"]),
            reports=reports_pb2_grpc.ReportServiceStub(channels["documents"]),
            forms=forms_pb2_grpc.FormServiceStub(channels["documents"]),
            webhooks=notifications_pb2_grpc.WebhookServiceStub(channels["notifications"]),
            automation=notifications_pb2_grpc.AutomationServiceStub(channels["notifications"]),
            notification_preferences=notifications_pb2_grpc.NotificationPreferencesServiceStub(
                channels["notifications"]
            ),
        )

    async def health(self) -> dict[str, str]:
        """Each service's own answer to grpc.health.v1 (UNREACHABLE when it gives none)."""

        async def check(channel: grpc.aio.Channel) -> str:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                response = await stub.Check(
                    health_pb2.HealthCheckRequest(), timeout=HEALTH_TIMEOUT_SECONDS
                )
            except grpc.aio.AioRpcError:
                return "UNREACHABLE"
            return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

        names = list(self.channels)
        answers = await asyncio.gather(*(check(self.channels[name]) for name in names))
        return dict(zip(names, answers, strict=True))

    async def close(self) -> None:
        await asyncio.gather(*(channel.close() for channel in self.channels.values()))
