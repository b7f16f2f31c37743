"""Telling a company that its webhook endpoint was disabled after a day of failures.

The attempt that disables an endpoint records that its owners are owed an e-mail
(`owners_told_at: None`, store/endpoints.py); this notifier, a loop of the notifications
worker, takes such endpoints one at a time, sends one e-mail per disabling and records it
as told. The e-mail goes out after the claim and before the record, never inside a
transaction: a notifier that dies in between leaves its claim to run out and the e-mail
is sent again (at least once); a mail server that refuses it leaves the claim to run out
too, and the next pass tries again.

Who is told: the company's owners of its webhooks, the active users who hold
`webhooks.manage` for the whole company (identity's directory), each at their e-mail
address; when none of them has one, the company's contact e-mail. A company with neither
is logged and counted as told: there is nobody to write to, and asking again every pass
would change nothing. An e-mail to several owners is sent to each: one refused by the mail
server sends them all again at the next pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from services.kit.delivery import MailSender
from services.kit.errors import NotFound
from services.kit.known_companies import KnownCompanies
from services.notifications.domain.webhooks import Endpoint
from services.notifications.service.delivering import wall_clock
from services.notifications.service.people_directory import PeopleDirectory
from services.notifications.service.webhooks import MANAGE
from services.notifications.store.contacts import CompanyContacts
from services.notifications.store.endpoints import EndpointStore

log = logging.getLogger(__name__)

# How long a notifier holds an endpoint while it sends the e-mail: longer than the mail
# server may take (kit.delivery.SmtpMailSender's timeout).
NOTICE_LEASE = timedelta(minutes=2)
SUBJECT = "Вебхук отключён"


def disabled_notice(endpoint: Endpoint, company_name: str) -> str:
    """The e-mail's text: which endpoint, since when it failed, and what to do."""
    named = f" «{endpoint.description}»" if endpoint.description else ""
    whose = f" компании {company_name}" if company_name else ""
    failing = _moment(endpoint.failing_since)
    disabled = _moment(endpoint.disabled_at)
    return (
        "Здравствуйте!\n\n"
        f"Вебхук{named}{whose} отключён: с {failing} ни одно событие не удалось доставить "
        f"по адресу\n{endpoint.url}\n"
        f"Вебхук отключён {disabled}, и события на этот адрес больше не отправляются.\n\n"
        "Проверьте, что адрес доступен и отвечает кодом 2xx, затем включите вебхук снова "
        "в разделе «Управление» → «Вебхуки». Доставки, которые не удались, можно отправить "
        "повторно там же, в журнале доставок.\n\n"
        "Виртуальный менеджер"
    )


def _moment(moment: datetime | None) -> str:
    return moment.strftime("%d.%m.%Y %H:%M UTC") if moment else "—"


class OwnersNotice:
    def __init__(
        self,
        endpoints: EndpointStore,
        people: PeopleDirectory,
        contacts: CompanyContacts,
        companies: KnownCompanies,
        mail: MailSender,
        *,
        clock: Callable[[], datetime] = wall_clock,
        lease: timedelta = NOTICE_LEASE,
    ) -> None:
        self._endpoints = endpoints
        self._people = people
        self._contacts = contacts
        self._companies = companies
        self._mail = mail
        self._clock = clock
        self._lease = lease

    async def tell_one(self) -> bool:
        """Tells the owners of one disabled endpoint; False when none is owed."""
        now = self._clock()
        endpoint = await self._endpoints.claim_owners_notice(now, now + self._lease)
        if endpoint is None:
            return False
        addresses = await self._owners(endpoint.company_id)
        if addresses:
            text = disabled_notice(endpoint, await self._company_name(endpoint.company_id))
            for address in addresses:
                await self._mail.send_mail(address, SUBJECT, text)
        else:
            log.warning(
                "a disabled webhook's company has no address to write to; nobody was told",
                extra={"company_id": endpoint.company_id, "endpoint_id": endpoint.id},
            )
        await self._endpoints.record_owners_told(endpoint.company_id, endpoint.id, self._clock())
        return True

    async def run(self, stop: asyncio.Event, poll: float = 1.0) -> None:
        """Until `stop`: every owed e-mail, then a pause of `poll` seconds."""
        while not stop.is_set():
            try:
                while not stop.is_set() and await self.tell_one():
                    pass
            except Exception as error:  # the database or the mail server is away
                log.warning("webhook owners' notice paused", extra={"error": str(error)[:200]})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)

    async def _owners(self, company_id: str) -> list[str]:
        """The addresses of the company's webhook owners, else its contact address."""
        people = await self._people.people(company_id, MANAGE)
        owners = sorted({p.email for p in people if p.company_wide and p.email})
        if owners:
            return owners
        contact = await self._contacts.email(company_id)
        return [contact] if contact else []

    async def _company_name(self, company_id: str) -> str:
        try:
            return str((await self._companies.get(company_id)).get("name", ""))
        except NotFound:
            return ""
