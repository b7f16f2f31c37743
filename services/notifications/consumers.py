"""Other services' events → notifications' use cases.

Every internal event that is a public one (domain/public_events.py) becomes, in the
consumer's transaction, a delivery for each of the company's endpoints that wants it and
whatever each reaction records (an automation rule's firing, a notice to a person), in
the consumer's transaction. The events are applied in runs (a BatchHandler), so a burst
costs a query per company and event type, not per event.

Each of these is written under the event's id and looked for before it is written (a
delivery's message id per endpoint, a firing per rule, an announcement per event), so a
public event needs no marker in `processed_events`: an event handed over again finds its
effect there and adds nothing (`keyed_by_event`). That saves a write per event, one per
number of a bulk block. What it changes: an event handed over again (its
acknowledgement lost after its commit) reaches an endpoint or a rule made in between,
as if it had come a moment later.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.consumer import BatchHandler, EventHandler
from services.kit.events import Event, read_payload
from services.kit.known_companies import COMPANY_CREATED, KnownCompanies
from services.notifications.domain.public_events import CONSUMED_TYPES, public_event
from services.notifications.service.reactions import PublicEventReaction
from services.notifications.store.contacts import CompanyContacts
from vm.identity.events.v1 import events_pb2 as identity_events

# The webhooks' fan-out of a run of public events (service/fan_out.WebhookFanOut).
FanOut = Callable[[Sequence[Event], AsyncClientSession], Awaitable[object]]


def handlers(
    companies: KnownCompanies,
    fan_out_cases: FanOut,
    reactions: Sequence[PublicEventReaction] = (),
    *,
    contacts: CompanyContacts | None = None,
) -> dict[str, EventHandler]:
    async def company_created(event: Event, session: AsyncClientSession) -> None:
        await companies.record_company_created(event, session)
        if contacts is not None:
            created = read_payload(event, identity_events.CompanyCreated)
            await contacts.record(created.company_id, created.contact_email, session)

    async def public_events(events: Sequence[Event], session: AsyncClientSession) -> None:
        public = [p for p in (public_event(e) for e in events) if p is not None]
        if not public:
            return
        await fan_out_cases(public, session)
        for reaction in reactions:
            await reaction(public, session)

    on_public = BatchHandler(public_events, keyed_by_event=True)
    return {
        COMPANY_CREATED: company_created,
        **dict.fromkeys(CONSUMED_TYPES, on_public),
    }
