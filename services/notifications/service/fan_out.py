"""Fan-out: a public event becomes one delivery for each endpoint of its company that wants it.

Called by the events' consumer within its own transaction (its `session`), so that the
deliveries exist if and only if the event is recorded as handled. Idempotent: an event
handed over again (the broker delivers at least once) finds its deliveries there and makes
no new ones; the unique index on (endpoint, message id) backs this up against a concurrent
fan-out of the same event, which then fails its transaction and is redelivered.

Only the company's own endpoints are looked at: an event of one company never reaches
another's.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.events import Event
from services.kit.ids import new_id
from services.notifications.domain.webhooks import (
    PENDING,
    PUBLIC_EVENT_TYPES,
    Delivery,
    Endpoint,
    message_id,
    ordering_key,
    webhook_payload,
)
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore

DELIVERY_ID_PREFIX = "dlv"


def new_delivery(event: Event, endpoint: Endpoint, now: datetime) -> Delivery:
    return Delivery(
        id=new_id(DELIVERY_ID_PREFIX),
        company_id=endpoint.company_id,
        endpoint_id=endpoint.id,
        message_id=message_id(event.id),
        event_type=event.type,
        event_time=event.time,
        payload=webhook_payload(
            event_id=event.id,
            event_type=event.type,
            source=event.source,
            time=event.time,
            subject=event.subject,
            data=event.data,
        ),
        ordering_key=ordering_key(event.data),
        state=PENDING,
        created_at=now,
        next_attempt_at=now,
    )


async def fan_out(
    event: Event,
    endpoints: EndpointStore,
    deliveries: DeliveryStore,
    now: datetime,
    session: AsyncClientSession | None = None,
) -> list[Delivery]:
    """The deliveries made for this event (none for an event already fanned out, or one
    without a company)."""
    if event.type not in PUBLIC_EVENT_TYPES:
        raise ValueError(f"{event.type} is not a public event: it is never sent to webhooks")
    if not event.company_id:
        return []
    wanting = await endpoints.wanting(event.company_id, event.type, session)
    if not wanting:
        return []
    done = await deliveries.existing_endpoints(
        message_id(event.id), [e.id for e in wanting], session
    )
    made = [new_delivery(event, e, now) for e in wanting if e.id not in done]
    await deliveries.insert_new(made, session)
    return made
