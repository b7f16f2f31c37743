"""Tickets' use cases on the company's side: open, list, read, comment, attach, download,
close and reopen.

Who may: reading needs tickets.view, the rest tickets.manage. A caller whose permission
holds company-wide reaches every ticket of the company; one scoped to subtrees reaches the
tickets whose every number lies in its subtrees (others are not found, never
"forbidden"), and opens tickets only about numbers it sees there. A ticket about no
number belongs to the whole company.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.errors import InvalidArgument, NotFound, PermissionDenied
from services.kit.ids import new_id
from services.kit.paging import decode_page_token, encode_page_token, page_size
from services.tickets.domain import attachments as files_rules
from services.tickets.domain import tickets as domain
from services.tickets.domain.tickets import Actor, AttachmentInfo, Ticket, TicketFilter
from services.tickets.domain.workflow import CLOSED, OPEN
from services.tickets.service.base import Deps
from services.tickets.store.tickets import After, TicketScope

VIEW = "tickets.view"
MANAGE = "tickets.manage"

Change = Callable[[Ticket, Actor, datetime], Ticket]


class CompanyTicketCases:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    # ------------------------------------------------------------ reads

    async def list_tickets(
        self, caller: Caller, ticket_filter: TicketFilter, order: str, size: int, token: str
    ) -> tuple[list[Ticket], str]:
        _, scope = await self._scope(caller, VIEW)
        return await page_of(self._deps, scope, ticket_filter, order, size, token)

    async def get_ticket(self, caller: Caller, ticket_id: str) -> Ticket:
        _, scope = await self._scope(caller, VIEW)
        return await found(self._deps, scope, ticket_id)

    async def download(
        self, caller: Caller, ticket_id: str, attachment_id: str
    ) -> tuple[AttachmentInfo, AsyncIterator[bytes]]:
        _, scope = await self._scope(caller, VIEW)
        return await attachment_of(self._deps, scope, ticket_id, attachment_id)

    # ------------------------------------------------------------ changes

    async def create_ticket(
        self, caller: Caller, category: str, subject: str, text: str, msisdns: Sequence[str]
    ) -> Ticket:
        access, scope = await self._scope(caller, MANAGE)
        ticket_category = domain.checked_category(category)
        ticket_subject = domain.checked_subject(subject)
        ticket_text = domain.checked_text(text)
        wanted = domain.checked_msisdns(msisdns)
        if scope.nodes is not None and not wanted:
            raise PermissionDenied(
                "a ticket about no number needs the permission 'tickets.manage' for the "
                "whole company; name the numbers it is about"
            )
        paths = await self._deps.numbers.paths(caller, wanted)
        for path in paths.values():
            access.require(MANAGE, path)
        person = await self._deps.people.who(caller)
        ticket = domain.new_ticket(
            ticket_id=new_id("tkt"),
            company_id=access.company_id,
            category=ticket_category,
            subject=ticket_subject,
            text=ticket_text,
            numbers=paths,
            author=person.actor,
            author_email=person.email,
            now=self._deps.clock(),
        )

        async def write(session: AsyncClientSession) -> None:
            await self._deps.insert(ticket, session)

        await self._deps.transactions.run(write)
        return ticket

    async def comment(self, caller: Caller, ticket_id: str, text: str) -> Ticket:
        body = domain.checked_text(text)
        return await self._change(
            caller, ticket_id, lambda ticket, actor, now: ticket.commented(actor, body, now)
        )

    async def close(self, caller: Caller, ticket_id: str, text: str) -> Ticket:
        return await self._move(caller, ticket_id, CLOSED, text)

    async def reopen(self, caller: Caller, ticket_id: str, text: str) -> Ticket:
        return await self._move(caller, ticket_id, OPEN, text)

    async def attach(
        self, caller: Caller, ticket_id: str, filename: str, content_type: str, content: bytes
    ) -> tuple[Ticket, AttachmentInfo]:
        """The file goes to GridFS first (it takes no part in transactions), then into the
        ticket's history in a transaction; if that fails, the file is deleted again."""
        checked = files_rules.check_file(filename, content_type, content)
        access, scope = await self._scope(caller, VIEW)
        ticket = await found(self._deps, scope, ticket_id)
        self._require_manage(access, ticket)
        ticket.require_not_closed("attach files to")  # refused now: nothing is written
        files_rules.check_room(len(ticket.attachments))
        person = await self._deps.people.who(caller)
        info = _info(new_id("att"), checked, person.actor, self._deps.clock())
        await self._deps.files.put(
            info.id,
            company_id=ticket.company_id,
            ticket_id=ticket.id,
            filename=info.filename,
            content_type=info.content_type,
            content=content,
        )

        def add(current: Ticket, actor: Actor, now: datetime) -> Ticket:
            files_rules.check_room(len(current.attachments))
            return current.with_attachment(info, now)

        try:
            changed = await self._write(access, scope, ticket_id, person.actor, add)
        except BaseException:
            await self._deps.files.delete(info.id)
            raise
        return changed, info

    # ------------------------------------------------------------ helpers

    async def _scope(self, caller: Caller, permission: str) -> tuple[Access, TicketScope]:
        access = await self._deps.access.access(caller)
        nodes = access.nodes_with(permission)
        if nodes is not None and not nodes:
            access.require(permission)  # holds nowhere: say which permission is missing
        return access, TicketScope(access.company_id, nodes)

    async def _move(self, caller: Caller, ticket_id: str, target: str, text: str) -> Ticket:
        reason = domain.optional_text(text)
        return await self._change(
            caller,
            ticket_id,
            lambda ticket, actor, now: ticket.moved_to(target, actor, now, reason),
        )

    async def _change(self, caller: Caller, ticket_id: str, change: Change) -> Ticket:
        access, scope = await self._scope(caller, VIEW)
        person = await self._deps.people.who(caller)
        return await self._write(access, scope, ticket_id, person.actor, change)

    async def _write(
        self, access: Access, scope: TicketScope, ticket_id: str, actor: Actor, change: Change
    ) -> Ticket:
        async def write(session: AsyncClientSession) -> Ticket:
            ticket = await found(self._deps, scope, ticket_id, session)
            self._require_manage(access, ticket)
            changed = change(ticket, actor, self._deps.clock())
            return await self._deps.save(ticket, changed, session)

        return await self._deps.transactions.run(write)

    @staticmethod
    def _require_manage(access: Access, ticket: Ticket) -> None:
        access.require(MANAGE, ticket.scope_nodes)


def _info(
    attachment_id: str, checked: files_rules.CheckedFile, actor: Actor, now: datetime
) -> AttachmentInfo:
    return AttachmentInfo(
        id=attachment_id,
        filename=checked.filename,
        content_type=checked.content_type,
        size=checked.size,
        uploaded_at=now,
        uploaded_by=actor,
    )


# --- shared with the operator's desk ------------------------------------------------------


async def found(
    deps: Deps, scope: TicketScope, ticket_id: str, session: AsyncClientSession | None = None
) -> Ticket:
    ticket = await deps.tickets.get(scope, ticket_id, session) if ticket_id else None
    if ticket is None:
        raise NotFound("no such ticket")
    return ticket


async def attachment_of(
    deps: Deps, scope: TicketScope, ticket_id: str, attachment_id: str
) -> tuple[AttachmentInfo, AsyncIterator[bytes]]:
    ticket = await found(deps, scope, ticket_id)
    info = ticket.attachment(attachment_id)
    if info is None:
        raise NotFound("no such attachment")
    return info, await deps.files.read(ticket.company_id, attachment_id)


async def page_of(
    deps: Deps,
    scope: TicketScope,
    ticket_filter: TicketFilter,
    order: str,
    size: int,
    token: str,
    extra: dict[str, object] | None = None,
) -> tuple[list[Ticket], str]:
    limit = page_size(size)
    found_tickets = await deps.tickets.page(
        scope,
        ticket_filter,
        order=order,
        after=_after(token, order),
        limit=limit + 1,
        now=deps.clock(),
        extra=extra,
    )
    next_token = ""
    if len(found_tickets) > limit:
        last = found_tickets[limit - 1]
        moment = last.due_at if order == domain.DUE_FIRST else last.created_at
        next_token = encode_page_token([order, moment.isoformat(), last.id])
    return found_tickets[:limit], next_token


def _after(token: str, order: str) -> After | None:
    decoded = decode_page_token(token)
    if decoded is None:
        return None
    try:
        token_order, moment, ticket_id = decoded
        if token_order != order or not isinstance(ticket_id, str):
            raise ValueError(token_order)
        return datetime.fromisoformat(moment), ticket_id
    except (TypeError, ValueError) as error:
        raise InvalidArgument(
            "the page token is not valid", {"page_token": "use the token from the previous page"}
        ) from error
