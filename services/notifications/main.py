"""Composition root of notifications: `python -m services.notifications`.

The gRPC services (webhooks, automation rules, notification choices) and the consumer of
every service's public events, which records deliveries, rules' firings and announcements
to people; the work that calls out (deliveries, rules' actions, e-mail and SMS) is the
notifications worker's (worker.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.kit.known_companies import KnownCompanies
from services.kit.runtime import (
    ServiceRuntime,
    caller_access_resolver,
    serve_until_stopped,
    start_service,
)
from services.kit.settings import Settings
from services.notifications import consumers
from services.notifications.grpc_api import ACCESS_POLICY, SERVICE_NAMES, registrars
from services.notifications.service.automation import AutomationCases
from services.notifications.service.delivering import Deliverer
from services.notifications.service.fan_out import WebhookFanOut
from services.notifications.service.people_notices import PeopleNotices
from services.notifications.service.preferences import NotificationPreferences
from services.notifications.service.webhook_http import Timeouts, WebhookClient
from services.notifications.service.webhooks import WebhookCases
from services.notifications.store.contacts import CompanyContacts
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore
from services.notifications.store.notices import NoticeStore
from services.notifications.store.preferences import PreferenceStore
from services.notifications.store.rule_runs import RunStore
from services.notifications.store.rules import RuleStore

NAME = "notifications"
WORKER_NAME = "notifications-worker"


def dev_mode(settings: Settings) -> bool:
    """Development: webhooks may go to http:// and to private and loopback addresses."""
    return settings.env == "dev"


def webhook_timeouts(settings: Settings) -> Timeouts:
    """A receiver has `webhook_timeout_seconds` to answer; the whole attempt (a slow
    connection, an answer dripping in) three times that."""
    answer = settings.webhook_timeout_seconds
    return Timeouts(connect=min(5.0, answer), read=answer, total=3 * answer)


def attempt_lease(settings: Settings) -> timedelta:
    """How long a worker holds an endpoint's deliveries (and a "send it again" its
    delivery): twice the longest attempt at least, as a worker renews it at half."""
    return timedelta(seconds=max(60.0, 2 * webhook_timeouts(settings).total))


def webhook_client(settings: Settings) -> WebhookClient:
    return WebhookClient(dev_mode=dev_mode(settings), timeouts=webhook_timeouts(settings))


def deliverer(runtime: ServiceRuntime, client: WebhookClient) -> Deliverer:
    db = runtime.db
    return Deliverer(
        DeliveryStore(db), EndpointStore(db), client, dev_mode=dev_mode(runtime.settings)
    )


async def start(settings: Settings, address: str | None = None) -> ServiceRuntime:
    runtime = ServiceRuntime.create(NAME, settings)
    runtime.caller_access = caller_access_resolver(settings)
    db = runtime.db
    endpoints, deliveries = EndpointStore(db), DeliveryStore(db)
    webhooks = WebhookCases(
        endpoints,
        deliveries,
        # A retry is attempted within the call (RetryDelivery answers with its outcome).
        deliverer(runtime, webhook_client(settings)),
        runtime.caller_access,
        dev_mode=dev_mode(settings),
    )
    rules = AutomationCases(RuleStore(db), RunStore(db), runtime.caller_access)
    choices = NotificationPreferences(PreferenceStore(db))
    notices = NoticeStore(db)

    async def prepare() -> None:
        await webhooks.ensure_indexes()
        await rules.ensure_indexes()
        await PreferenceStore(db).ensure_indexes()
        await notices.ensure_indexes()

    await start_service(
        runtime,
        registrars(webhooks, rules, choices),
        SERVICE_NAMES,
        ACCESS_POLICY,
        consumers.handlers(
            KnownCompanies(db),
            WebhookFanOut(endpoints, deliveries),
            reactions=[rules.on_public_events, PeopleNotices(notices)],
            contacts=CompanyContacts(db),
        ),
        address,
        prepare=prepare,
    )
    return runtime


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    await serve_until_stopped(start, settings, stop)
