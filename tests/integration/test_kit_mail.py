"""Mail as it leaves through SMTP (kit/delivery.py), read back by a real SMTP server (the
development sink's aiosmtpd handler): a long Russian subject keeps every space, the body
and the attachments arrive whole."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from deploy.devsink import Inbox, MailHandler
from services.kit.delivery import Attachment, SmtpMailSender
from tests.support.servers import free_port

SUBJECT = (
    "Номер 79161234567: достигнут лимит расходов за декабрь — проверьте расходы отдела "
    "продаж в Москве и Казани"
)
TEXT = "Расходы за 2026-12 (всего) достигли лимита 50,00 ₽, израсходовано 60,00 ₽.\n" * 3


@pytest.fixture
async def sink() -> AsyncIterator[tuple[Inbox, int]]:
    from aiosmtpd.smtp import SMTP

    inbox, port = Inbox(), free_port()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(MailHandler(inbox), hostname="test"), "127.0.0.1", port
    )
    yield inbox, port
    server.close()
    await server.wait_closed()


async def test_a_long_russian_subject_keeps_its_spaces_and_the_body_arrives_whole(sink):
    inbox, port = sink
    sender = SmtpMailSender("127.0.0.1", port, "Виртуальный менеджер <no-reply@vm.example>")

    await sender.send_mail(
        "Buh@Romashka.example",
        SUBJECT,
        TEXT,
        attachments=[Attachment("Счёт.pdf", "application/pdf", b"%PDF-1.7 test")],
    )

    (mail,) = inbox.for_recipient("buh@romashka.example")
    assert mail["subject"] == SUBJECT
    assert mail["text"].strip() == TEXT.strip()
    assert mail["attachments"] == [
        {"name": "Счёт.pdf", "content_type": "application/pdf", "size": 13}
    ]
