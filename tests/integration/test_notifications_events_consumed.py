"""The notifications service's consumer takes a public event once without a marker of its
own: its deliveries, firings and announcements are keyed by the event and looked for
first, so an event handed over again adds nothing (real consumer, MongoDB-protocol
server)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.catalog.service.decisions import block_event
from services.kit.known_companies import KnownCompanies
from services.notifications import consumers
from services.notifications.service.endpoints import add_endpoint
from services.notifications.service.fan_out import WebhookFanOut
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore
from tests.integration.test_catalog_number_store import ROOT, a_number
from tests.support.kit import make_consumer

pytestmark = pytest.mark.integration


async def test_a_public_event_handed_over_again_makes_no_second_delivery(settings, clients):
    db = clients.db
    endpoints, deliveries = EndpointStore(db), DeliveryStore(db)
    await endpoints.ensure_indexes()
    await deliveries.ensure_indexes()
    endpoint = await add_endpoint(
        endpoints,
        ROOT.company_id,
        url="http://127.0.0.1:9/hook",
        event_types=["*"],
        dev_mode=True,
        now=datetime.now(UTC),
    )
    handlers = consumers.handlers(KnownCompanies(db), WebhookFanOut(endpoints, deliveries))
    consumer = make_consumer(settings, clients, handlers)
    number = a_number(1, ROOT)
    blocked = block_event("vm.catalog.number.blocked.v1", number, "voluntary")
    other = block_event("vm.catalog.number.blocked.v1", a_number(2, ROOT), "voluntary")

    assert await consumer.apply_batch([blocked, blocked]) == [True, False]  # a copy: once
    # Handed over again, alone and in a batch: taken (counted applied), with no new effect.
    assert await consumer.apply_batch([blocked, other]) == [True, True]
    assert await consumer.apply(blocked)

    made = await deliveries.of_endpoint(ROOT.company_id, endpoint.endpoint.id)
    assert sorted(d.message_id for d in made) == sorted(f"msg_{e.id}" for e in (blocked, other))
    assert await db["processed_events"].count_documents({}) == 0
