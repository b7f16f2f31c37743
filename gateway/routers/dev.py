"""`GET /dev/messages`: what the system sent by SMS and e-mail (development only: the
route exists only when VM_ENV=dev, read from the local message sink)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

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


@router.get("/dev/messages", response_model=MessagesOut, openapi_extra=PUBLIC)
async def dev_messages(
    request: Request, to: str | None = Query(default=None, max_length=254)
) -> MessagesOut:
    """SMS and e-mails sent to a number or address, newest first."""
    url = f"{request.app.state.settings.devsink_url}/messages"
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.get(url, params={"to": to} if to else None)
            response.raise_for_status()
    except httpx.HTTPError as error:
        raise Problem("unavailable", "the local message sink is not running") from error
    return MessagesOut.model_validate(response.json())
