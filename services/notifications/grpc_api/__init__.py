"""Notifications' gRPC surface: one servicer per proto service, proto ⇄ use case only.

Every service here is a company caller's (the default audience); what a caller may do is
checked by the use cases.
"""

from __future__ import annotations

from services.kit.grpc_server import AccessPolicy, Registrar, full_methods
from services.notifications.grpc_api import automation, preferences
from services.notifications.grpc_api.webhooks import WebhookServicer
from services.notifications.service.automation import AutomationCases
from services.notifications.service.preferences import NotificationPreferences
from services.notifications.service.webhooks import WebhookCases
from vm.notifications.v1 import notifications_pb2 as pb
from vm.notifications.v1 import notifications_pb2_grpc as pb_grpc

_WEBHOOKS = pb.DESCRIPTOR.services_by_name["WebhookService"].full_name

SERVICE_NAMES = (_WEBHOOKS, automation.SERVICE_NAME, preferences.PREFERENCES_SERVICE)
ACCESS_POLICY = AccessPolicy(
    # A repeat with the same Idempotency-Key answers the first response (the secret of
    # that endpoint, encrypted in the journal under the key) instead of a second endpoint.
    replayable_methods=full_methods(_WEBHOOKS, "CreateEndpoint", "SendTestEvent")
    | automation.REPLAYABLE_METHODS,
)


def registrars(
    webhooks: WebhookCases, rules: AutomationCases, choices: NotificationPreferences
) -> list[Registrar]:
    return [
        (pb_grpc.add_WebhookServiceServicer_to_server, WebhookServicer(webhooks)),
        automation.automation_registrar(rules),
        preferences.preferences_registrar(choices),
    ]
