"""`GET /dev/messages`: what the system sent by SMS and e-mail, and `GET /dev/webhooks`:
the webhook deliveries the local sink received (development only: the routes exist only
when VM_ENV=dev, read from the local message sink)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from gateway.problems import Problem
from gateway.security import PUBLIC

router = APIRouter(tags=["development"])


class AttachmentOut(BaseModel):
    name: str
    content_type: str
    size: int


class MessageOut(BaseModel):
    channel: str
    to: str
    subject: str
    text: str
    sent_at: str
    attachments: list[AttachmentOut] = []


class MessagesOut(BaseModel):
    items: list[MessageOut]


class WebhookDeliveryOut(BaseModel):
    name: str = Field(description="the receiver's name: the URL's last part")
    webhook_id: str
    webhook_timestamp: str
    webhook_signature: str
    body: str
    received_at: str


class WebhookDeliveriesOut(BaseModel):
    items: list[WebhookDeliveryOut]


async def _from_sink(request: Request, path: str, params: dict[str, str]) -> object:
    url = f"{request.app.state.settings.devsink_url}{path}"
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(url, params=params or None)
            response.raise_for_status()
    except httpx.HTTPError as error:
        raise Problem("unavailable", "the local message sink is not running") from error
    return response.json()


@router.get("/dev/messages", response_model=MessagesOut, openapi_extra=PUBLIC)
async def dev_messages(
    request: Request, to: str | None = Query(default=None, max_length=254)
) -> MessagesOut:
    """SMS and e-mails sent to a number or address, newest first."""
    found = await _from_sink(request, "/messages", {"to": to} if to else {})
    return MessagesOut.model_validate(found)


@router.get("/dev/webhooks", response_model=WebhookDeliveriesOut, openapi_extra=PUBLIC)
async def dev_webhooks(
    request: Request, name: str | None = Query(default=None, max_length=100)
) -> WebhookDeliveriesOut:
    """Webhook deliveries the local sink received at `http://<sink>/webhooks/<name>`,
    newest first."""
    found = await _from_sink(request, "/webhooks", {"name": name} if name else {})
    return WebhookDeliveriesOut.model_validate(found)
