"""Notices to the company's people: what the events consumer records, and what the worker
sends.

- `PeopleNotices` (a PublicEventReaction) runs in the consumer's transaction: it decides the
  kind and the audience (domain/people_notices.py) and records one announcement per event,
  a run of events in one write.
  It asks nobody anything: no network call is made inside a transaction.
- `NoticeSender.send_due(now)` is the worker's pass. It turns announcements into notices —
  asking identity who the audience is (cached), keeping the channels each person chose,
  writing the text in their language — one notice per (event, user, channel), unique; then
  sends the notices due, each claimed with a lease so that two workers never send one. An
  SMS carries the notice's id as its reference: the SMS centre delivers a repeat once. A
  failed attempt is tried again after a growing pause, a few times, then given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.delivery import MailSender, SmsCentre
from services.kit.events import Event
from services.kit.ids import new_id
from services.notifications.domain.notice_texts import notice_text
from services.notifications.domain.people_notices import (
    EMAIL,
    SMS,
    Choice,
    Person,
    addressed,
    audience_of,
    default_choice,
    kind_of,
)
from services.notifications.service.people_directory import PeopleDirectory
from services.notifications.store.notices import Announcement, Notice, NoticeStore
from services.notifications.store.preferences import PreferenceStore

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
RETRY_PAUSE = timedelta(seconds=30)  # the first pause; each next one is longer
MAX_ATTEMPTS = 5
PER_PASS = 100


class PeopleNotices:
    """Records, in the consumer's transaction, that people are to hear of public events."""

    def __init__(self, store: NoticeStore) -> None:
        self._store = store

    async def __call__(self, events: Sequence[Event], session: AsyncClientSession) -> None:
        announcements = [a for a in map(_announcement_of, events) if a is not None]
        await self._store.announce(announcements, session)


def _announcement_of(event: Event) -> Announcement | None:
    """What the event tells the company's people, and to whom; None: nothing to anyone."""
    kind = kind_of(event)
    if kind is None or not event.company_id:
        return None
    audience = audience_of(kind, event)
    if audience.nobody:
        return None
    return Announcement(
        event_id=event.id,
        company_id=event.company_id,
        kind=kind,
        public_type=event.type,
        data=_words_of(event.data),
        event_time=event.time,
        company_wide=audience.company_wide,
        user_ids=audience.user_ids,
    )


# What a notice never says and an event may carry in bulk (an account's numbers, in the
# thousands): not kept with the announcement.
_UNSAID = frozenset({"msisdns"})


def _words_of(data: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in data.items() if name not in _UNSAID}


def _pause(attempts: int, pause: timedelta) -> timedelta:
    return pause * (2 ** max(0, attempts - 1))


class NoticeSender:
    def __init__(
        self,
        store: NoticeStore,
        preferences: PreferenceStore,
        directory: PeopleDirectory,
        *,
        mail: MailSender | None,
        sms: SmsCentre | None,
        lease: timedelta = LEASE,
        retry_pause: timedelta = RETRY_PAUSE,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self._store = store
        self._preferences = preferences
        self._directory = directory
        self._mail = mail
        self._sms = sms
        self._lease = lease
        self._pause = retry_pause
        self._max_attempts = max_attempts

    async def run(self, stop: asyncio.Event, poll: float) -> None:
        """The worker's loop: a pass every `poll` seconds (at once again while a pass found
        a full batch) until `stop` is set; a pass that fails is tried at the next one."""
        while not stop.is_set():
            sent = 0
            try:
                sent = await self.send_due(datetime.now(UTC))
            except Exception as error:  # the database is away: the next pass tries again
                log.warning("people's notices paused", extra={"error": type(error).__name__})
            if sent < PER_PASS:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll)

    async def send_due(self, now: datetime) -> int:
        """One pass: announcements into notices, then the notices due sent; how many were
        sent."""
        for _ in range(PER_PASS):
            announcement = await self._store.claim_announcement(now, self._lease)
            if announcement is None:
                break
            await self._prepare(announcement, now)
        sent = 0
        for _ in range(PER_PASS):
            notice = await self._store.claim_notice(now, self._lease)
            if notice is None:
                break
            sent += int(await self._send(notice, now))
        return sent

    # --- announcements into notices ---

    async def _prepare(self, announcement: Announcement, now: datetime) -> None:
        try:
            people = await self._audience(announcement)
            choices = await self._preferences.of_users(announcement.company_id, list(people))
        except Exception as error:  # identity or the database away: the next pass retries
            await self._announcement_failed(announcement, now, error)
            return
        notices = [
            _notice_doc(announcement, person, channel, to, now)
            for person in people.values()
            for channel, to in addressed(person, _choice(choices, person, announcement).channels)
        ]
        await self._store.add_notices(notices)
        await self._store.announcement_done(announcement, now)

    async def _audience(self, announcement: Announcement) -> dict[str, Person]:
        """The people of the announcement's company it is for, by user id."""
        company_id = announcement.company_id
        people: dict[str, Person] = {}
        for permission in announcement.company_wide:
            for person in await self._directory.people(company_id, permission):
                if person.company_wide:
                    people[person.user_id] = person
        if announcement.user_ids:
            for person in await self._directory.people(company_id, "", announcement.user_ids):
                people[person.user_id] = person
        return people

    async def _announcement_failed(
        self, announcement: Announcement, now: datetime, error: Exception
    ) -> None:
        attempts = announcement.attempts + 1
        give_up = attempts >= self._max_attempts
        log.warning(
            "people's notices not prepared",
            extra={"event": announcement.event_id, "error": type(error).__name__},
        )
        await self._store.announcement_later(
            announcement, now + _pause(attempts, self._pause), give_up=give_up, error=str(error)
        )

    # --- sending ---

    async def _send(self, notice: Notice, now: datetime) -> bool:
        try:
            if notice.channel == EMAIL and self._mail is not None:
                await self._mail.send_mail(notice.to, notice.subject, notice.text)
            elif notice.channel == SMS and self._sms is not None:
                # The notice's id as the reference: a repeat is delivered once.
                await self._sms.send_sms(notice.to, notice.text, reference=notice.id)
            else:
                raise RuntimeError(f"no sender for the channel {notice.channel!r}")
        except Exception as error:  # the mail server or SMS centre away: tried again later
            attempts = notice.attempts + 1
            give_up = attempts >= self._max_attempts
            log.warning(
                "a notice was not sent",
                extra={"notice": notice.id, "error": type(error).__name__, "gave_up": give_up},
            )
            await self._store.later(
                notice, now + _pause(attempts, self._pause), give_up=give_up, error=str(error)
            )
            return False
        await self._store.sent(notice, now)
        return True


def _choice(
    choices: Mapping[str, Mapping[str, Choice]], person: Person, announcement: Announcement
) -> Choice:
    mine = choices.get(person.user_id, {})
    return mine.get(announcement.kind) or default_choice(announcement.kind)


def _notice_doc(
    announcement: Announcement, person: Person, channel: str, to: str, now: datetime
) -> dict[str, object]:
    words = notice_text(
        announcement.kind, announcement.public_type, announcement.data, person.locale
    )
    return {
        "_id": new_id("ntc"),
        "event_id": announcement.event_id,
        "company_id": announcement.company_id,
        "user_id": person.user_id,
        "kind": announcement.kind,
        "channel": channel,
        "to": to,
        "subject": words.subject,
        "text": words.text,
        "locale": person.locale,
        "state": "pending",
        "attempts": 0,
        "created_at": now,
        "next_attempt_at": now,
        "lease_until": None,
    }
