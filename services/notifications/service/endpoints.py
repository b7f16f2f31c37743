"""A company's webhook endpoints: add one, change it, switch it off and on, rotate its secret.

The secret is made here and returned once, by `add_endpoint` and `rotate_secret`: the
reads that list endpoints show no secret. The URL is checked against the address rules
when it is saved (a literal private address is refused at once); its name is resolved and
checked again at every delivery (webhook_http.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from services.kit.ids import new_id
from services.notifications.domain.addresses import checked_webhook_url
from services.notifications.domain.webhooks import (
    DISABLED_BY_COMPANY,
    SECRET_BYTES,
    Endpoint,
    SigningSecrets,
    checked_description,
    checked_event_types,
    new_secret,
)
from services.notifications.store.endpoints import EndpointStore

ENDPOINT_ID_PREFIX = "whe"


@dataclass(frozen=True)
class WithSecret:
    """An endpoint and its new secret, to be shown this once."""

    endpoint: Endpoint
    secret: str


def _fresh_secret() -> str:
    return new_secret(secrets.token_bytes(SECRET_BYTES))


async def add_endpoint(
    store: EndpointStore,
    company_id: str,
    *,
    url: str,
    event_types: list[str],
    description: str = "",
    dev_mode: bool,
    now: datetime,
) -> WithSecret:
    secret = _fresh_secret()
    endpoint = Endpoint(
        id=new_id(ENDPOINT_ID_PREFIX),
        company_id=company_id,
        url=checked_webhook_url(url, dev_mode=dev_mode).url,
        description=checked_description(description),
        event_types=checked_event_types(event_types),
        secrets=SigningSecrets(secret),
        enabled=True,
        created_at=now,
    )
    await store.insert(endpoint)
    return WithSecret(endpoint, secret)


async def rotate_secret(
    store: EndpointStore, company_id: str, endpoint_id: str, now: datetime
) -> WithSecret:
    """A new secret; the one before it signs deliveries too for another 24 hours."""
    endpoint = await store.get(company_id, endpoint_id)
    secret = _fresh_secret()
    saved = await store.save(replace(endpoint, secrets=endpoint.secrets.rotated(secret, now)))
    return WithSecret(saved, secret)


async def set_enabled(
    store: EndpointStore, company_id: str, endpoint_id: str, enabled: bool, now: datetime
) -> Endpoint:
    endpoint = await store.get(company_id, endpoint_id)
    return await store.save(switched(endpoint, enabled, now), reset_failing=enabled)


def switched(endpoint: Endpoint, enabled: bool, now: datetime) -> Endpoint:
    """The endpoint switched on or off by the company."""
    if enabled:
        # A fresh start: the failures before the endpoint was switched off do not count.
        return replace(
            endpoint, enabled=True, disabled_reason="", disabled_at=None, failing_since=None
        )
    return replace(endpoint, enabled=False, disabled_reason=DISABLED_BY_COMPANY, disabled_at=now)
