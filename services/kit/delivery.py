"""Message delivery: SMS through the operator's SMS centre, e-mail through SMTP.

Both are ports with one real adapter each. In development the SMS centre and the mail
server are the local sink (`deploy/devsink.py`); in production, the operator's SMS centre
HTTP gateway and its mail relay. Message text never goes to the logs (it carries codes).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib
import httpx

from services.kit.errors import Unavailable

log = logging.getLogger(__name__)


class SmsCentre(Protocol):
    async def send_sms(self, to: str, text: str, *, reference: str = "") -> None:
        """`reference`: the sender's id of the message; the SMS centre delivers a message
        sent again with the same reference only once."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with an e-mail (a document's PDF)."""

    name: str
    content_type: str
    content: bytes


class MailSender(Protocol):
    async def send_mail(
        self, to: str, subject: str, text: str, *, attachments: Sequence[Attachment] = ()
    ) -> None: ...


class HttpSmsCentre:
    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self._url = url
        self._client = httpx.AsyncClient(timeout=timeout)

    async def send_sms(self, to: str, text: str, *, reference: str = "") -> None:
        body = {"to": to, "text": text, "reference": reference}
        try:
            response = await self._client.post(self._url, json=body)
            response.raise_for_status()
        except httpx.HTTPError as error:
            log.warning(
                "SMS centre did not accept a message", extra={"error": type(error).__name__}
            )
            raise Unavailable("the SMS centre is not available; try again later") from error

    async def aclose(self) -> None:
        await self._client.aclose()


class SmtpMailSender:
    def __init__(self, host: str, port: int, sender: str, *, timeout: float = 10.0) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._timeout = timeout

    async def send_mail(
        self, to: str, subject: str, text: str, *, attachments: Sequence[Attachment] = ()
    ) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        for attachment in attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            message.add_attachment(
                attachment.content,
                maintype=maintype,
                subtype=subtype.split(";")[0] or "octet-stream",
                filename=attachment.name,
            )
        try:
            await aiosmtplib.send(
                message, hostname=self._host, port=self._port, timeout=self._timeout
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning(
                "mail server did not accept a message", extra={"error": type(error).__name__}
            )
            raise Unavailable("the mail server is not available; try again later") from error
