"""Tickets' use cases that other services' events start, each inside the consumer's
transaction (the kit's consumer applies an event once).

- billing's settlement-change request opens a `contract` ticket on behalf of the user who
  asked (one ticket per request: the request id is unique among tickets), and the
  operator's decision is written into it and resolves it;
- catalog's number moves and number replacements keep each ticket's numbers where they
  are, so a scoped user keeps seeing exactly the tickets about its subtree.
"""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.ids import new_id
from services.tickets.domain import tickets as domain
from services.tickets.domain import workflow
from services.tickets.domain.tickets import Actor
from services.tickets.service.base import Deps
from vm.billing.events.v1 import events_pb2 as billing_events

SETTLEMENT_SUBJECT = "Заявление на смену способа расчётов: {method}"
METHOD_NAMES = {"credit": "кредитный", "advance": "авансовый"}
OPERATOR = Actor(domain.OPERATOR_ACTOR, "", "Оператор")


class DecisionNotYetKnown(Exception):
    """A decision came before its request was applied: redelivery tries again later."""


def _rubles(kopecks: int) -> str:
    rubles, rest = divmod(kopecks, 100)
    return f"{rubles:,}".replace(",", " ") + (f",{rest:02d}" if rest else "") + " ₽"


class ReactionCases:
    def __init__(self, deps: Deps) -> None:
        self._deps = deps

    async def open_settlement_ticket(
        self, request: billing_events.SettlementChangeRequested, session: AsyncClientSession
    ) -> None:
        tickets = self._deps.tickets
        if await tickets.by_settlement_request(request.company_id, request.request_id, session):
            return
        method = METHOD_NAMES.get(request.method, request.method)
        text = f"Прошу перевести лицевой счёт {request.account_number} на {method} способ расчётов"
        if request.credit_limit:
            text += f" с кредитным лимитом {_rubles(request.credit_limit)}"
        ticket = domain.new_ticket(
            ticket_id=new_id("tkt"),
            company_id=request.company_id,
            category="contract",
            subject=SETTLEMENT_SUBJECT.format(method=method),
            text=text + ".",
            numbers={},
            author=Actor(workflow.CUSTOMER, request.requested_by, request.requested_by_name),
            author_email=await self._deps.contacts.email(request.company_id, session),
            now=self._deps.clock(),
            settlement_request_id=request.request_id,
        )
        await self._deps.insert(ticket, session)

    async def record_settlement_decision(
        self, decision: billing_events.SettlementChangeDecided, session: AsyncClientSession
    ) -> None:
        ticket = await self._deps.tickets.by_settlement_request(
            decision.company_id, decision.request_id, session
        )
        if ticket is None:
            raise DecisionNotYetKnown(decision.request_id)
        verdict = "Заявление одобрено" if decision.approved else "Заявление отклонено"
        text = f"{verdict}. {decision.comment.strip()}".strip() if decision.comment else verdict
        now = self._deps.clock()
        changed = ticket.noted(OPERATOR, text, now)
        if workflow.RESOLVED in workflow.allowed_moves(ticket.status, OPERATOR.side):
            changed = changed.moved_to(workflow.RESOLVED, OPERATOR, now)
        await self._deps.save(ticket, changed, session)

    async def follow_number(
        self,
        company_id: str,
        msisdn: str,
        node_path: Sequence[str],
        session: AsyncClientSession,
        previous_msisdn: str = "",
    ) -> None:
        """The number's tickets take its new place (and, after a number replacement, its
        new MSISDN)."""
        known_as = previous_msisdn or msisdn
        for ticket in await self._deps.tickets.about_number(company_id, known_as, session):
            numbers = {
                (msisdn if number == known_as else number): (
                    tuple(node_path) if number == known_as else path
                )
                for number, path in ticket.numbers.items()
            }
            if numbers != dict(ticket.numbers):
                await self._deps.save(ticket, ticket.relocated(numbers), session)
