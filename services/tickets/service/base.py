"""What every tickets use case needs, made once in main.py and shared: the stores, the
transaction and outbox, the peers, the mail sender, the clock — and the one way a ticket
is written: the change and its events in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.delivery import MailSender
from services.kit.events import Event, new_event
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from services.tickets.domain.tickets import Ticket
from services.tickets.peers import Person
from services.tickets.store.contacts import CompanyContacts
from services.tickets.store.files import AttachmentFiles
from services.tickets.store.tickets import TicketStore
from vm.tickets.events.v1 import events_pb2

SOURCE = "/services/tickets"
TICKET_CREATED = "vm.tickets.ticket.created.v1"
TICKET_STATUS_CHANGED = "vm.tickets.ticket.status_changed.v1"


def utc_now() -> datetime:
    """Now, to the millisecond: what MongoDB keeps, so a page token matches what is stored."""
    moment = datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class People(Protocol):
    async def who(self, caller: Caller) -> Person: ...


class Numbers(Protocol):
    async def paths(self, caller: Caller, msisdns: list[str]) -> dict[str, tuple[str, ...]]: ...


@dataclass(frozen=True)
class Deps:
    tickets: TicketStore
    files: AttachmentFiles
    contacts: CompanyContacts
    transactions: Transactions
    outbox: Outbox
    access: CallerAccessResolver
    people: People
    numbers: Numbers
    mail: MailSender
    clock: Callable[[], datetime] = utc_now

    async def insert(self, ticket: Ticket, session: AsyncClientSession) -> None:
        await self.tickets.insert(ticket, session)
        await self.outbox.add(session, ticket_created(ticket))

    async def save(self, before: Ticket, after: Ticket, session: AsyncClientSession) -> Ticket:
        """The changed ticket, and `status_changed` when its status moved."""
        saved = await self.tickets.save(after, session)
        if before.status != after.status:
            await self.outbox.add(session, status_changed(before, saved))
        return saved


def ticket_created(ticket: Ticket) -> Event:
    return new_event(
        TICKET_CREATED,
        events_pb2.TicketCreated(
            company_id=ticket.company_id,
            ticket_id=ticket.id,
            category=ticket.category,
            subject=ticket.subject,
            msisdns=list(ticket.msisdns),
            author_id=ticket.author.id,
            due_at=ticket.due_at.isoformat(),
            settlement_request_id=ticket.settlement_request_id,
        ),
        source=SOURCE,
        company_id=ticket.company_id,
        subject=ticket.id,
    )


def status_changed(before: Ticket, after: Ticket) -> Event:
    last = after.history[-1].actor if after.history else after.author
    return new_event(
        TICKET_STATUS_CHANGED,
        events_pb2.TicketStatusChanged(
            company_id=after.company_id,
            ticket_id=after.id,
            status=after.status,
            previous_status=before.status,
            actor_kind=last.kind,
            category=after.category,
            author_id=after.author.id,
        ),
        source=SOURCE,
        company_id=after.company_id,
        subject=after.id,
    )
