"""The development message sink: an SMTP server (aiosmtpd) and an SMS-centre endpoint that
keep what the system sends, so people and tests can read codes and notifications.

`python -m deploy.devsink` — on VM_DEVSINK_HOST (127.0.0.1), SMTP on VM_DEVSINK_SMTP_PORT
(1025), HTTP on VM_DEVSINK_HTTP_PORT (8025): `POST /sms {to, text}` is the SMS centre,
`GET /messages?to=`
lists what arrived (newest first); `POST /webhooks/{name}` is a webhook receiver (any
endpoint URL of the form http://127.0.0.1:8025/webhooks/<name>), `GET /webhooks?name=` lists
the deliveries it received with their Standard Webhooks headers (newest first). Only for
development and tests: it keeps what arrives in memory and has no authentication.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections import deque
from datetime import UTC, datetime
from typing import Any

import uvicorn
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from fastapi import FastAPI, Path, Query, Request
from pydantic import BaseModel, Field

from services.kit.logs import configure_logging
from services.kit.phone import normalize_msisdn
from services.kit.settings import get_settings

MAX_KEPT = 10_000


class Inbox:
    def __init__(self) -> None:
        self._messages: deque[dict[str, Any]] = deque(maxlen=MAX_KEPT)

    def keep(
        self,
        channel: str,
        to: str,
        subject: str,
        text: str,
        attachments: list[dict[str, Any]] | None = None,
    ) -> None:
        self._messages.appendleft(
            {
                "channel": channel,
                "to": to,
                "subject": subject,
                "text": text,
                "sent_at": datetime.now(UTC).isoformat(),
                "attachments": attachments or [],
            }
        )

    def for_recipient(self, to: str | None) -> list[dict[str, Any]]:
        if not to:
            return list(self._messages)
        wanted = normalize_msisdn(to) or to.strip().lower()
        return [m for m in self._messages if m["to"].lower() == wanted]


class MailHandler:
    def __init__(self, inbox: Inbox) -> None:
        self._inbox = inbox

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        message = email.message_from_bytes(
            raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default
        )
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""
        # What was attached is kept by name, type and size (not the bytes).
        attachments = [
            {
                "name": part.get_filename() or "",
                "content_type": part.get_content_type(),
                "size": len(part.get_payload(decode=True) or b""),
            }
            for part in message.iter_attachments()
        ]
        subject = str(message.get("Subject", ""))
        for recipient in envelope.rcpt_tos:
            self._inbox.keep("email", recipient.lower(), subject, text, attachments)
        return "250 Message accepted for delivery"


class SmsIn(BaseModel):
    to: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=2000)
    # The sender's id of the message, as an SMS centre takes it: a message sent again with
    # the same reference (a sender resuming after a crash) is accepted and not delivered twice.
    reference: str = Field(default="", max_length=200)


WEBHOOK_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
WEBHOOK_BODY_MAX = 256 * 1024


class WebhookInbox:
    """Deliveries received, newest first: a receiver that answers 200 to each."""

    def __init__(self) -> None:
        self._deliveries: deque[dict[str, Any]] = deque(maxlen=MAX_KEPT)

    def keep(self, name: str, headers: dict[str, str], body: bytes) -> None:
        self._deliveries.appendleft(
            {
                "name": name,
                **{h.replace("-", "_"): headers.get(h, "") for h in WEBHOOK_HEADERS},
                "body": body[:WEBHOOK_BODY_MAX].decode("utf-8", errors="replace"),
                "received_at": datetime.now(UTC).isoformat(),
            }
        )

    def named(self, name: str | None) -> list[dict[str, Any]]:
        return [d for d in self._deliveries if not name or d["name"] == name]


def create_http_app(inbox: Inbox, webhooks: WebhookInbox | None = None) -> FastAPI:
    app = FastAPI(title="Development message sink", docs_url=None, redoc_url=None)
    received = webhooks or WebhookInbox()

    references: set[str] = set()

    @app.post("/sms", status_code=202)
    async def accept_sms(sms: SmsIn) -> dict[str, str]:
        if sms.reference and sms.reference in references:
            return {"status": "accepted", "reference": sms.reference}
        references.add(sms.reference)
        inbox.keep("sms", normalize_msisdn(sms.to) or sms.to, "", sms.text)
        return {"status": "accepted", "reference": sms.reference}

    @app.get("/messages")
    async def list_messages(to: str | None = Query(default=None)) -> dict[str, Any]:
        return {"items": inbox.for_recipient(to)}

    @app.post("/webhooks/{name}")
    async def receive_webhook(request: Request, name: str = Path(max_length=100)) -> dict[str, str]:
        received.keep(name, dict(request.headers), await request.body())
        return {"status": "received"}

    @app.get("/webhooks")
    async def list_webhooks(name: str | None = Query(default=None)) -> dict[str, Any]:
        return {"items": received.named(name)}

    return app


async def serve(host: str, smtp_port: int, http_port: int) -> None:
    inbox = Inbox()
    loop = asyncio.get_running_loop()
    handler = MailHandler(inbox)
    smtp = await loop.create_server(lambda: SMTP(handler, hostname="devsink"), host, smtp_port)
    config = uvicorn.Config(create_http_app(inbox), host=host, port=http_port, log_level="warning")
    try:
        await uvicorn.Server(config).serve()
    finally:
        smtp.close()


def main() -> None:
    settings = get_settings()
    configure_logging("devsink", settings.log_level)
    asyncio.run(
        serve(settings.devsink_host, settings.devsink_smtp_port, settings.devsink_http_port)
    )


if __name__ == "__main__":
    main()
