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

from collections.abc import Callable, Sequence
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
from services.notifications.service.clock import utc_now
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
    return await fan_out_all([event], endpoints, deliveries, now, session)


async def fan_out_all(
    events: Sequence[Event],
    endpoints: EndpointStore,
    deliveries: DeliveryStore,
    now: datetime,
    session: AsyncClientSession | None = None,
) -> list[Delivery]:
    """The deliveries made for these events, in their order: a batch of the consumer costs
    a query per company and event type, one to find what exists, and one insert."""
    for event in events:
        if event.type not in PUBLIC_EVENT_TYPES:
            raise ValueError(f"{event.type} is not a public event: it is never sent to webhooks")
    made: list[Delivery] = []
    for company_id, of_company in _by_company(events).items():
        made += await _fan_out_company(company_id, of_company, endpoints, deliveries, now, session)
    await deliveries.insert_new(made, session)
    return made


def _by_company(events: Sequence[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = {}
    once = {event.id: event for event in events}  # a repeat is the same event
    for event in once.values():
        if event.company_id:  # an event of no company goes to nobody's endpoint
            grouped.setdefault(event.company_id, []).append(event)
    return grouped


async def _fan_out_company(
    company_id: str,
    events: Sequence[Event],
    endpoints: EndpointStore,
    deliveries: DeliveryStore,
    now: datetime,
    session: AsyncClientSession | None,
) -> list[Delivery]:
    wanting: dict[str, list[Endpoint]] = {}
    for event_type in dict.fromkeys(e.type for e in events):
        wanting[event_type] = await endpoints.wanting(company_id, event_type, session)
    pairs = [(event, endpoint) for event in events for endpoint in wanting[event.type]]
    if not pairs:
        return []
    done = await deliveries.existing(
        company_id,
        list({message_id(event.id) for event, _ in pairs}),
        list({endpoint.id for _, endpoint in pairs}),
        session,
    )
    return [
        new_delivery(event, endpoint, now)
        for event, endpoint in pairs
        if (endpoint.id, message_id(event.id)) not in done
    ]


class WebhookFanOut:
    """The events' consumer's fan-out: a run of public events, in its transaction."""

    def __init__(
        self,
        endpoints: EndpointStore,
        deliveries: DeliveryStore,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._clock = clock

    async def __call__(
        self, events: Sequence[Event], session: AsyncClientSession
    ) -> list[Delivery]:
        return await fan_out_all(events, self._endpoints, self._deliveries, self._clock(), session)
