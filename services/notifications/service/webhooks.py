"""The company's webhooks as its administrators manage them (WebhookService): endpoints
added, read, changed, deleted, their secrets rotated; each endpoint's delivery log, a failed
delivery sent again, a test event sent.

Who may: every call needs the permission `webhooks.manage` for the whole company (a
company-level permission: a scope on a subtree does not give it). Another company's
endpoint or delivery is not found, never "forbidden".

A secret is shown only as it is made, by `create_endpoint` and `rotate_secret`. A test
event and a retried delivery go through the same signing and the same delivery log as any
other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from services.kit.authz import Access
from services.kit.context import Caller
from services.kit.errors import InvalidArgument, NotAllowed, NotFound
from services.kit.events import Event
from services.kit.paging import decode_page_token, encode_page_token, page_size
from services.notifications.domain.addresses import checked_webhook_url
from services.notifications.domain.webhooks import (
    TEST_EVENT,
    TEST_EVENT_TEXT,
    Delivery,
    Endpoint,
    checked_description,
    checked_event_types,
)
from services.notifications.service import endpoints as endpoint_cases
from services.notifications.service.clock import utc_now
from services.notifications.service.delivering import Deliverer, retry_delivery
from services.notifications.service.endpoints import WithSecret
from services.notifications.service.fan_out import new_delivery
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore

MANAGE = "webhooks.manage"
SOURCE = "/services/notifications"


class CallerAccess(Protocol):
    """What the caller may do (kit.caller_access.CallerAccessResolver asks identity)."""

    async def access(self, caller: Caller) -> Access: ...


@dataclass(frozen=True)
class EndpointChanges:
    """A change of an endpoint: only the fields given (not None) change."""

    url: str | None = None
    description: str | None = None
    event_types: Sequence[str] | None = None
    enabled: bool | None = None


Page = tuple[list[Endpoint], str]
DeliveryPage = tuple[list[Delivery], str]


class WebhookCases:
    def __init__(
        self,
        endpoints: EndpointStore,
        deliveries: DeliveryStore,
        deliverer: Deliverer,
        access: CallerAccess,
        *,
        dev_mode: bool,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._endpoints = endpoints
        self._deliveries = deliveries
        self._deliverer = deliverer
        self._access = access
        self._dev_mode = dev_mode
        self._clock = clock

    async def ensure_indexes(self) -> None:
        await self._endpoints.ensure_indexes()
        await self._deliveries.ensure_indexes()

    # ------------------------------------------------------------ endpoints

    async def create_endpoint(
        self, caller: Caller, url: str, description: str, event_types: Sequence[str]
    ) -> WithSecret:
        company_id = await self._company(caller)
        return await endpoint_cases.add_endpoint(
            self._endpoints,
            company_id,
            url=url,
            event_types=list(event_types),
            description=description,
            dev_mode=self._dev_mode,
            now=self._clock(),
        )

    async def list_endpoints(self, caller: Caller, size: int, token: str) -> Page:
        company_id = await self._company(caller)
        limit = page_size(size)
        found = await self._endpoints.page(company_id, _after(token), limit + 1)
        return found[:limit], _next_token(found, limit)

    async def get_endpoint(self, caller: Caller, endpoint_id: str) -> Endpoint:
        company_id = await self._company(caller)
        return await self._endpoints.get(company_id, endpoint_id)

    async def update_endpoint(
        self, caller: Caller, endpoint_id: str, changes: EndpointChanges
    ) -> Endpoint:
        company_id = await self._company(caller)
        endpoint = await self._endpoints.get(company_id, endpoint_id)
        changed = self._changed(endpoint, changes)
        enabled_again = changed.enabled and not endpoint.enabled
        return await self._endpoints.save(changed, reset_failing=enabled_again)

    async def delete_endpoint(self, caller: Caller, endpoint_id: str) -> None:
        """Its deliveries stay in the log; those still pending fail without an attempt
        (the worker finds the endpoint gone)."""
        company_id = await self._company(caller)
        await self._endpoints.delete(company_id, endpoint_id)

    async def rotate_secret(self, caller: Caller, endpoint_id: str) -> WithSecret:
        company_id = await self._company(caller)
        return await endpoint_cases.rotate_secret(
            self._endpoints, company_id, endpoint_id, self._clock()
        )

    # ------------------------------------------------------------ deliveries

    async def list_deliveries(
        self, caller: Caller, endpoint_id: str, state: str | None, size: int, token: str
    ) -> DeliveryPage:
        """The endpoint's deliveries, newest first; `state` None for all of them."""
        company_id = await self._company(caller)
        limit = page_size(size)
        await self._endpoints.get(company_id, endpoint_id)  # NotFound: not the company's
        found = await self._deliveries.page_of_endpoint(
            company_id, endpoint_id, state=state, after=_after(token), limit=limit + 1
        )
        return found[:limit], _next_token(found, limit)

    async def retry_delivery(self, caller: Caller, endpoint_id: str, delivery_id: str) -> Delivery:
        """A failed delivery attempted again now; if that fails, a new day of retries."""
        company_id = await self._company(caller)
        delivery = await self._deliveries.get(company_id, delivery_id)
        if delivery.endpoint_id != endpoint_id:
            raise _no_delivery(delivery_id)
        await self._enabled_endpoint(company_id, endpoint_id)
        await retry_delivery(
            self._deliveries, self._deliverer, company_id, delivery_id, self._clock()
        )
        return await self._deliveries.get(company_id, delivery_id)

    async def send_test_event(self, caller: Caller, endpoint_id: str) -> Delivery:
        """A `webhook.test` delivery to the endpoint, due at once: the worker sends it
        signed as any other, so the company sees its receiver's answer in the log."""
        company_id = await self._company(caller)
        endpoint = await self._enabled_endpoint(company_id, endpoint_id)
        now = self._clock()
        delivery = new_delivery(webhook_test_event(endpoint, now), endpoint, now)
        await self._deliveries.insert_new([delivery])
        return delivery

    # ------------------------------------------------------------ helpers

    async def _company(self, caller: Caller) -> str:
        access = await self._access.access(caller)
        access.require(MANAGE)  # company-level: only a company-wide scope carries it
        return access.company_id

    async def _enabled_endpoint(self, company_id: str, endpoint_id: str) -> Endpoint:
        endpoint = await self._endpoints.get(company_id, endpoint_id)
        if not endpoint.enabled:
            # The worker would give the delivery up without sending it.
            raise NotAllowed("the endpoint is disabled: enable it first")
        return endpoint

    def _changed(self, endpoint: Endpoint, changes: EndpointChanges) -> Endpoint:
        changed = endpoint
        if changes.url is not None:
            target = checked_webhook_url(changes.url, dev_mode=self._dev_mode)
            changed = replace(changed, url=target.url)
        if changes.description is not None:
            changed = replace(changed, description=checked_description(changes.description))
        if changes.event_types is not None:
            changed = replace(changed, event_types=checked_event_types(changes.event_types))
        if changes.enabled is not None and changes.enabled != endpoint.enabled:
            changed = endpoint_cases.switched(changed, changes.enabled, self._clock())
        return changed


def webhook_test_event(endpoint: Endpoint, now: datetime) -> Event:
    return Event(
        id=str(uuid.uuid4()),
        type=TEST_EVENT,
        source=SOURCE,
        time=now,
        data={"endpoint_id": endpoint.id, "text": TEST_EVENT_TEXT},
        company_id=endpoint.company_id,
    )


def _no_delivery(delivery_id: str) -> NotFound:
    return NotFound("no such delivery", {"delivery_id": "no such delivery"})


def _next_token(found: Sequence[Endpoint | Delivery], limit: int) -> str:
    """The token of the page after these (fetched one more than a page), "" at the end."""
    if len(found) <= limit:
        return ""
    last = found[limit - 1]
    return encode_page_token([last.created_at.isoformat(), last.id])


def _after(token: str) -> tuple[datetime, str] | None:
    decoded = decode_page_token(token)
    if decoded is None:
        return None
    try:
        moment, item_id = decoded
        if not isinstance(item_id, str):
            raise ValueError(item_id)
        return datetime.fromisoformat(moment), item_id
    except (TypeError, ValueError) as error:
        raise InvalidArgument(
            "the page token is not valid", {"page_token": "use the token from the previous page"}
        ) from error
