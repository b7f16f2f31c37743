"""`/me/notifications`: which of the company's happenings the caller hears of, by e-mail
and by SMS (notifications' NotificationPreferencesService). Every user chooses for
themself; a kind never chosen has its default (e-mail on, SMS off)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StrictBool, field_validator

from gateway.deps import Backends
from gateway.security import ANY_USER, CurrentCredential
from vm.notifications.v1 import notifications_pb2 as pb
from vm.notifications.v1 import resources_pb2

router = APIRouter(prefix="/api/v1/me", tags=["settings"])
TIMEOUT = 10.0

NoticeKind = Literal[
    "financial_block",
    "balance_low",
    "promised_payment_due",
    "limit_reached",
    "operation_finished",
    "file_ready",
    "ticket_answered",
]
KINDS_COUNT = 7


class NotificationChoice(BaseModel):
    kind: NoticeKind = Field(
        description="financial block and restore, balance below its threshold, promised "
        "payment due, limit reached, operation finished, document or report ready, "
        "ticket answered"
    )
    email: StrictBool
    sms: StrictBool


class NotificationsIn(BaseModel):
    choices: list[NotificationChoice] = Field(
        min_length=1,
        max_length=KINDS_COUNT,
        description="the kinds named change, each at most once; the others stay",
    )

    @field_validator("choices")
    @classmethod
    def _each_kind_once(cls, choices: list[NotificationChoice]) -> list[NotificationChoice]:
        kinds = [c.kind for c in choices]
        if len(set(kinds)) != len(kinds):
            raise ValueError("each kind at most once")
        return choices


class NotificationsOut(BaseModel):
    choices: list[NotificationChoice] = Field(description="every kind")


def _out(choices: list[resources_pb2.NotificationChoice]) -> NotificationsOut:
    return NotificationsOut(
        choices=[NotificationChoice(kind=c.kind, email=c.email, sms=c.sms) for c in choices]
    )


@router.get("/notifications", response_model=NotificationsOut, openapi_extra=ANY_USER)
async def get_my_notifications(
    backends: Backends, credential: CurrentCredential
) -> NotificationsOut:
    """Your channels for each kind of notification."""
    response = await backends.notification_preferences.GetMyNotifications(
        pb.GetMyNotificationsRequest(), metadata=credential.metadata, timeout=TIMEOUT
    )
    return _out(list(response.choices))


@router.put("/notifications", response_model=NotificationsOut, openapi_extra=ANY_USER)
async def set_my_notifications(
    body: NotificationsIn, backends: Backends, credential: CurrentCredential
) -> NotificationsOut:
    """Choose the channels of the kinds named (each kind at most once)."""
    response = await backends.notification_preferences.SetMyNotifications(
        pb.SetMyNotificationsRequest(
            choices=[
                resources_pb2.NotificationChoice(kind=c.kind, email=c.email, sms=c.sms)
                for c in body.choices
            ]
        ),
        metadata=credential.metadata,
        timeout=TIMEOUT,
    )
    return _out(list(response.choices))
