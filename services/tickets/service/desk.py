"""Tickets' use cases on the operator's side (its support desk): the queue across
companies, a ticket with its history, assigning, answering, moving the status.

Only the operator's systems call these (the gRPC policy lets no one else in, and each use
case checks again). An answer goes into the history and, after the commit, by e-mail to
the ticket's author (or, for a ticket the system opened, to the company's contact
address). A mail server that does not answer does not undo the answer: the customer reads
it in the cabinet, and the failure is logged.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.context import Caller
from services.kit.errors import DomainError, PermissionDenied
from services.tickets.domain import tickets as domain
from services.tickets.domain import workflow
from services.tickets.domain.tickets import Actor, AttachmentInfo, Ticket, TicketFilter
from services.tickets.service.base import Deps
from services.tickets.service.tickets import attachment_of, found, page_of
from services.tickets.store.tickets import TicketScope

log = logging.getLogger(__name__)

DESK_NAME = "Служба поддержки"
EVERYWHERE = TicketScope.operator()


def desk_actor(agent: str) -> Actor:
    name = agent.strip()[: domain.ASSIGNEE_MAX]
    return Actor(domain.OPERATOR_ACTOR, name, name or DESK_NAME)


class DeskCases:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def queue(
        self,
        caller: Caller,
        ticket_filter: TicketFilter,
        company_id: str,
        assignee: str,
        size: int,
        token: str,
    ) -> tuple[list[Ticket], str]:
        """Soonest due first; without a status filter, every ticket not closed."""
        _require_operator(caller)
        extra: dict[str, object] = {}
        if not ticket_filter.status:
            extra["status"] = {"$ne": workflow.CLOSED}
        if assignee.strip():
            extra["assignee"] = assignee.strip()
        scope = TicketScope(company_id.strip() or None)
        return await page_of(self._deps, scope, ticket_filter, domain.DUE_FIRST, size, token, extra)

    async def inspect(self, caller: Caller, ticket_id: str) -> Ticket:
        _require_operator(caller)
        return await found(self._deps, EVERYWHERE, ticket_id)

    async def download(
        self, caller: Caller, ticket_id: str, attachment_id: str
    ) -> tuple[AttachmentInfo, AsyncIterator[bytes]]:
        _require_operator(caller)
        return await attachment_of(self._deps, EVERYWHERE, ticket_id, attachment_id)

    async def assign(self, caller: Caller, ticket_id: str, assignee: str) -> Ticket:
        _require_operator(caller)
        name = domain.checked_assignee(assignee)
        return await self._write(ticket_id, lambda ticket, now: ticket.assigned(name, now))

    async def change_status(
        self, caller: Caller, ticket_id: str, status: str, text: str, agent: str
    ) -> Ticket:
        _require_operator(caller)
        target = workflow.checked_status(status)
        reason = domain.optional_text(text)
        actor = desk_actor(agent)
        return await self._write(
            ticket_id, lambda ticket, now: ticket.moved_to(target, actor, now, reason)
        )

    async def reply(
        self, caller: Caller, ticket_id: str, text: str, agent: str, status: str
    ) -> Ticket:
        _require_operator(caller)
        body = domain.checked_text(text)
        target = workflow.checked_status(status) if status.strip() else ""
        actor = desk_actor(agent)

        def answer(ticket: Ticket, now: datetime) -> Ticket:
            answered = ticket.commented(actor, body, now)
            return answered.moved_to(target, actor, now) if target else answered

        ticket = await self._write(ticket_id, answer)
        await self._mail_answer(ticket, body)
        return ticket

    async def _write(self, ticket_id: str, change: Callable[[Ticket, datetime], Ticket]) -> Ticket:
        async def write(session: AsyncClientSession) -> Ticket:
            ticket = await found(self._deps, EVERYWHERE, ticket_id, session)
            return await self._deps.save(ticket, change(ticket, self._deps.clock()), session)

        return await self._deps.transactions.run(write)

    async def _mail_answer(self, ticket: Ticket, body: str) -> None:
        to = ticket.author_email or await self._deps.contacts.email(ticket.company_id)
        if not to:
            log.warning("no address for a ticket's answer", extra={"ticket_id": ticket.id})
            return
        status = workflow.STATUSES.get(ticket.status, ticket.status)
        text = (
            f"Здравствуйте!\n\nПо вашему обращению {ticket.id} «{ticket.subject}» получен "
            f"ответ:\n\n{body}\n\nСтатус обращения: {status}.\n"
            "Ответить можно в Виртуальном менеджере, в разделе «Обращения».\n"
        )
        try:
            await self._deps.mail.send_mail(to, f"Ответ по обращению «{ticket.subject}»", text)
        except DomainError as error:
            log.warning(
                "an answer was not mailed", extra={"ticket_id": ticket.id, "error": error.reason}
            )


def _require_operator(caller: Caller) -> None:
    if not caller.is_operator:
        raise PermissionDenied("only the operator's support desk does this")
