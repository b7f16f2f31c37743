"""Tickets' use cases, one class per side, wired together here: each loads through the
stores, asks the domain, and saves with its outbox events in one transaction; e-mails go
out after the commit."""

from __future__ import annotations

from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from services.kit.caller_access import CallerAccessResolver
from services.kit.delivery import MailSender
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from services.tickets.service.base import Deps, Numbers, People
from services.tickets.service.desk import DeskCases
from services.tickets.service.reactions import ReactionCases
from services.tickets.service.tickets import CompanyTicketCases
from services.tickets.store.contacts import CompanyContacts
from services.tickets.store.files import AttachmentFiles
from services.tickets.store.tickets import TicketStore


@dataclass(frozen=True)
class TicketCases:
    deps: Deps
    company: CompanyTicketCases
    desk: DeskCases
    reactions: ReactionCases

    @classmethod
    def create(
        cls,
        db: AsyncDatabase,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
        *,
        people: People,
        numbers: Numbers,
        mail: MailSender,
    ) -> TicketCases:
        deps = Deps(
            tickets=TicketStore(db),
            files=AttachmentFiles(db),
            contacts=CompanyContacts(db),
            transactions=transactions,
            outbox=outbox,
            access=access,
            people=people,
            numbers=numbers,
            mail=mail,
        )
        return cls(deps, CompanyTicketCases(deps), DeskCases(deps), ReactionCases(deps))

    async def ensure_indexes(self) -> None:
        await self.deps.tickets.ensure_indexes()
        await self.deps.files.ensure_indexes()
