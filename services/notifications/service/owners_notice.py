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
from services.notifications.domain.notice_texts import RU, NoticeText, endpoint_disabled
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


def disabled_notice(endpoint: Endpoint, company_name: str, locale: str = RU) -> NoticeText:
    return endpoint_disabled(
        endpoint.url,
        endpoint.description,
        company_name,
        endpoint.failing_since,
        endpoint.disabled_at,
        locale,
    )


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
        owners = await self._owners(endpoint.company_id)
        if owners:
            company_name = await self._company_name(endpoint.company_id)
            for address, locale in owners:
                notice = disabled_notice(endpoint, company_name, locale)
                await self._mail.send_mail(address, notice.subject, notice.text)
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

    async def _owners(self, company_id: str) -> list[tuple[str, str]]:
        """(address, locale) of the company's webhook owners, else of its contact address
        (in Russian)."""
        people = await self._people.people(company_id, MANAGE)
        owners = sorted({(p.email, p.locale) for p in people if p.company_wide and p.email})
        if owners:
            return owners
        contact = await self._contacts.email(company_id)
        return [(contact, RU)] if contact else []

    async def _company_name(self, company_id: str) -> str:
        try:
            return str((await self._companies.get(company_id)).get("name", ""))
        except NotFound:
            return ""
