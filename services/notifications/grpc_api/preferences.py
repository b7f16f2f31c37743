"""NotificationPreferencesService (any user, their own choices): proto ⇄ use case, and its
registration."""

from __future__ import annotations

from typing import TypeAlias

import grpc

from services.kit.context import current_caller
from services.kit.grpc_server import Registrar
from services.notifications.domain.people_notices import Choice
from services.notifications.service.preferences import NotificationPreferences
from vm.notifications.v1 import notifications_pb2 as pb
from vm.notifications.v1 import notifications_pb2_grpc as pb_grpc
from vm.notifications.v1 import resources_pb2

Context: TypeAlias = grpc.aio.ServicerContext

PREFERENCES_SERVICE = pb.DESCRIPTOR.services_by_name["NotificationPreferencesService"].full_name


def choice_message(choice: Choice) -> resources_pb2.NotificationChoice:
    return resources_pb2.NotificationChoice(kind=choice.kind, email=choice.email, sms=choice.sms)


def choice_from(message: resources_pb2.NotificationChoice) -> Choice:
    return Choice(message.kind.strip(), email=message.email, sms=message.sms)


class NotificationPreferencesServicer(pb_grpc.NotificationPreferencesServiceServicer):
    def __init__(self, preferences: NotificationPreferences) -> None:
        self._preferences = preferences

    async def GetMyNotifications(
        self, request: pb.GetMyNotificationsRequest, context: Context
    ) -> pb.GetMyNotificationsResponse:
        choices = await self._preferences.mine(current_caller())
        return pb.GetMyNotificationsResponse(choices=[choice_message(c) for c in choices])

    async def SetMyNotifications(
        self, request: pb.SetMyNotificationsRequest, context: Context
    ) -> pb.SetMyNotificationsResponse:
        choices = await self._preferences.choose(
            current_caller(), [choice_from(c) for c in request.choices]
        )
        return pb.SetMyNotificationsResponse(choices=[choice_message(c) for c in choices])


def preferences_registrar(preferences: NotificationPreferences) -> Registrar:
    return (
        pb_grpc.add_NotificationPreferencesServiceServicer_to_server,
        NotificationPreferencesServicer(preferences),
    )
