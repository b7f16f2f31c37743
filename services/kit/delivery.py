"""Message delivery: SMS through the operator's SMS centre, e-mail through SMTP.

Both are ports with one real adapter each. In development the SMS centre and the mail
server are the local sink (`deploy/devsink.py`); in production, the operator's SMS centre
HTTP gateway and its mail relay. Message text never goes to the logs (it carries codes).
"""

from __future__ import annotations

import email.generator
import email.policy
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr
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


# A message is sent with headers folded only at the line limit of RFC 5322: Python's folding
# of a long non-ASCII subject puts the space between two words as the whitespace between
# two encoded-words, which every reader must drop («достигнут лимит» arrives as
# «достигнутлимит»). Unfolded, the subject is one encoded-word, which mail readers accept.
# The body is encoded as usual (base64 or quoted-printable in lines of 76) when it is set.
SENDING_POLICY = email.policy.SMTP.clone(max_line_length=998)


def flattened(message: EmailMessage) -> bytes:
    """The message's bytes as they go on the wire, with SENDING_POLICY's headers."""
    with io.BytesIO() as out:
        email.generator.BytesGenerator(out, policy=SENDING_POLICY).flatten(message)
        return out.getvalue()


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
                flattened(message),
                sender=parseaddr(self._sender)[1],
                recipients=[to],
                hostname=self._host,
                port=self._port,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning(
                "mail server did not accept a message", extra={"error": type(error).__name__}
            )
            raise Unavailable("the mail server is not available; try again later") from error
