"""The notifications service as a process runs it: its gRPC server and its events' consumer
(main.py) and its worker (worker.py) against the real MongoDB-protocol server, RabbitMQ,
identity running in this process (callers are API keys of identity's preset roles) and a
real HTTP receiver on 127.0.0.1 (development mode: loopback is refused otherwise).

- WebhookService: create, read, list, change, rotate, delete; `webhooks.manage` needed;
  another company's endpoint or delivery is not found; deliveries paged newest first.
- An internal event published to the broker becomes a delivery that the worker hands to
  the receiver, which verifies its signature with the `standardwebhooks` library.
- A test event, a retry, and the e-mail to a company whose endpoint a day of failures
  disabled.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import pytest
from standardwebhooks import Webhook

from services.identity import domain as identity_domain
from services.identity.domain import Assignment
from services.identity.domain.users import USER_ACTIVE, USER_DEACTIVATED, User
from services.identity.store.api_keys import ApiKeyStore
from services.identity.store.users import UserStore
from services.kit.broker import EventPublisher
from services.kit.errors import read_remote_error
from services.kit.events import Event, encode_event, new_event
from services.kit.known_companies import KnownCompanies
from services.kit.runtime import ServiceRuntime
from services.kit.settings import Settings
from services.notifications import main as notifications_main
from services.notifications import worker as notifications_worker
from services.notifications.domain.webhooks import DISABLED_FAILING
from services.notifications.service.endpoints import add_endpoint
from services.notifications.service.owners_notice import OwnersNotice
from services.notifications.service.people_directory import IdentityDirectory
from services.notifications.store.contacts import CompanyContacts
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore
from tests.support.kit import eventually
from tests.support.servers import (
    MongoServer,
    delete_broker_namespace,
    isolated_settings,
    namespace,
)
from vm.identity.events.v1 import events_pb2 as identity_events
from vm.identity.v1 import api_keys_pb2, api_keys_pb2_grpc
from vm.notifications.v1 import notifications_pb2 as api
from vm.notifications.v1 import notifications_pb2_grpc as api_grpc

pytestmark = pytest.mark.integration

MSISDN = "79161234567"


# --- a receiver ------------------------------------------------------------------------


@dataclass
class Receiver:
    """An HTTP server in a thread: records every POST and answers `status`."""

    server: ThreadingHTTPServer
    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def received(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(headers, body) for p, headers, body in self.requests if p == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            with box[0].lock:
                box[0].requests.append((self.path, dict(self.headers.items()), body))
            self.send_response(box[0].status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    box.append(Receiver(server))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box[0]
    server.shutdown()
    server.server_close()


# --- the service, the worker, the callers ----------------------------------------------


@pytest.fixture
async def service_settings(
    mongo_server: MongoServer, amqp: str, identity: ServiceRuntime
) -> AsyncIterator[Settings]:
    """Databases and broker objects of this test's own; identity the one of this module;
    development mode, so that webhooks may go to the receiver on 127.0.0.1."""
    prefix = namespace()
    base = isolated_settings(mongo_server.url, amqp, prefix)
    yield base.model_copy(
        update={
            "env": "dev",
            "identity_addr": f"127.0.0.1:{identity.server.port}",
            "notifications_poll_seconds": 0.05,
            "notifications_background_poll_seconds": 0.05,
        }
    )
    await delete_broker_namespace(amqp, f"{prefix}.", (notifications_main.NAME,))


@pytest.fixture
async def service(service_settings: Settings) -> AsyncIterator[ServiceRuntime]:
    runtime = await notifications_main.start(service_settings, address="127.0.0.1:0")
    await runtime.wait_ready(within_seconds=30)
    yield runtime
    await runtime.stop()


@pytest.fixture
async def worker(service: ServiceRuntime, service_settings: Settings) -> AsyncIterator[None]:
    runtime, running = await notifications_worker.start(service_settings, address="127.0.0.1:0")
    await runtime.wait_ready(within_seconds=30)
    yield
    await running.stop(1.0)
    await runtime.stop()


@pytest.fixture
async def stub(service: ServiceRuntime) -> AsyncIterator[api_grpc.WebhookServiceStub]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.server.port}") as channel:
        yield api_grpc.WebhookServiceStub(channel)


@dataclass(frozen=True)
class CompanyCaller:
    company_id: str
    token: str

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),)


async def a_caller(identity: ServiceRuntime, channel, role_id: str, company_id: str = ""):
    """An API key of `role_id` for the whole company, exchanged for a token."""
    api_key, key = identity_domain.new_api_key(
        company_id=company_id or f"cmp_{namespace()}",
        name="Интеграция",
        assignment=Assignment(role_id),
        created_by="usr_test",
        now=datetime.now(UTC),
    )
    await ApiKeyStore(identity.db).insert(api_key)
    answer = await api_keys_pb2_grpc.ApiKeyServiceStub(channel).ExchangeApiKey(
        api_keys_pb2.ExchangeApiKeyRequest(key=key)
    )
    return CompanyCaller(api_key.company_id, answer.access_token)


@pytest.fixture
async def admin(identity, channel) -> CompanyCaller:
    return await a_caller(identity, channel, "global_admin")


@pytest.fixture
async def other_admin(identity, channel) -> CompanyCaller:
    return await a_caller(identity, channel, "global_admin")


async def refused(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    error = read_remote_error(raised.value)
    return error.code, error.reason


async def create(stub, caller: CompanyCaller, url: str, *types: str, description: str = ""):
    return await stub.CreateEndpoint(
        api.CreateEndpointRequest(
            url=url, description=description, event_types=list(types or ("*",))
        ),
        metadata=caller.metadata,
    )


async def publish(settings: Settings, service: ServiceRuntime, event: Event) -> None:
    assert service.broker is not None
    publisher = EventPublisher(service.broker, settings.events_exchange)
    await publisher.start()
    await publisher.publish(event.id, event.type, encode_event(event))


def number_blocked(company_id: str) -> Event:
    return new_event(
        "vm.catalog.number.blocked.v1",
        {"company_id": company_id, "msisdn": MSISDN, "block_type": "voluntary"},
        source="/services/catalog",
        company_id=company_id,
        subject=MSISDN,
    )


# --- endpoints -------------------------------------------------------------------------


async def test_an_administrator_adds_reads_changes_rotates_and_deletes_an_endpoint(stub, admin):
    made = await create(
        stub, admin, "https://hooks.example.com/vm", "number.blocked", description="CRM"
    )
    endpoint = made.endpoint
    assert made.secret.startswith("whsec_")
    assert (endpoint.url, endpoint.description, list(endpoint.event_types)) == (
        "https://hooks.example.com/vm",
        "CRM",
        ["number.blocked"],
    )
    assert endpoint.enabled and not endpoint.HasField("previous_secret_valid_until")

    got = await stub.GetEndpoint(
        api.GetEndpointRequest(endpoint_id=endpoint.id), metadata=admin.metadata
    )
    assert got.endpoint == endpoint

    changed = await stub.UpdateEndpoint(
        api.UpdateEndpointRequest(
            endpoint_id=endpoint.id,
            event_types=api.EventTypes(event_types=["payment.received", "limit.reached"]),
            enabled=False,
        ),
        metadata=admin.metadata,
    )
    assert list(changed.endpoint.event_types) == ["payment.received", "limit.reached"]
    assert changed.endpoint.description == "CRM"  # not given: unchanged
    assert not changed.endpoint.enabled
    assert changed.endpoint.disabled_reason == "disabled by the company"
    again = await stub.UpdateEndpoint(
        api.UpdateEndpointRequest(endpoint_id=endpoint.id, enabled=True), metadata=admin.metadata
    )
    assert again.endpoint.enabled and again.endpoint.disabled_reason == ""

    rotated = await stub.RotateSecret(
        api.RotateSecretRequest(endpoint_id=endpoint.id), metadata=admin.metadata
    )
    assert rotated.secret.startswith("whsec_") and rotated.secret != made.secret
    assert rotated.endpoint.HasField("previous_secret_valid_until")

    await stub.DeleteEndpoint(
        api.DeleteEndpointRequest(endpoint_id=endpoint.id), metadata=admin.metadata
    )
    assert await refused(
        stub.GetEndpoint(api.GetEndpointRequest(endpoint_id=endpoint.id), metadata=admin.metadata)
    ) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")


async def test_a_creation_repeated_with_its_idempotency_key_makes_one_endpoint(stub, admin):
    metadata = (*admin.metadata, ("idempotency-key", f"crm-hook-{namespace()}"))
    request = api.CreateEndpointRequest(url="https://hooks.example.com/crm", event_types=["*"])

    first = await stub.CreateEndpoint(request, metadata=metadata)
    again = await stub.CreateEndpoint(request, metadata=metadata)

    assert again == first  # the same endpoint, and the secret it was made with
    listed = await stub.ListEndpoints(api.ListEndpointsRequest(), metadata=admin.metadata)
    assert [e.id for e in listed.endpoints] == [first.endpoint.id]


async def test_bad_urls_and_event_types_are_refused_as_invalid(stub, admin):
    for url, types in (
        ("ftp://hooks.example.com/", ("*",)),
        ("https://user:secret@hooks.example.com/", ("*",)),
        ("https://hooks.example.com/", ("*", "number.blocked")),
        ("https://hooks.example.com/", ("number.exploded",)),
    ):
        code, _ = await refused(create(stub, admin, url, *types))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, url


async def test_without_webhooks_manage_every_call_is_denied(identity, channel, stub, admin):
    made = await create(stub, admin, "https://hooks.example.com/vm")
    # A telecom administrator of the same company: many permissions, not this one.
    telecom = await a_caller(identity, channel, "telecom_admin", admin.company_id)
    endpoint_id = made.endpoint.id

    calls = [
        stub.CreateEndpoint(
            api.CreateEndpointRequest(url="https://hooks.example.com/x", event_types=["*"]),
            metadata=telecom.metadata,
        ),
        stub.ListEndpoints(api.ListEndpointsRequest(), metadata=telecom.metadata),
        stub.GetEndpoint(
            api.GetEndpointRequest(endpoint_id=endpoint_id), metadata=telecom.metadata
        ),
        stub.RotateSecret(
            api.RotateSecretRequest(endpoint_id=endpoint_id), metadata=telecom.metadata
        ),
        stub.SendTestEvent(
            api.SendTestEventRequest(endpoint_id=endpoint_id), metadata=telecom.metadata
        ),
        stub.DeleteEndpoint(
            api.DeleteEndpointRequest(endpoint_id=endpoint_id), metadata=telecom.metadata
        ),
    ]
    for call in calls:
        assert await refused(call) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
    # Nothing was deleted.
    await stub.GetEndpoint(api.GetEndpointRequest(endpoint_id=endpoint_id), metadata=admin.metadata)
    assert await refused(stub.ListEndpoints(api.ListEndpointsRequest())) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "UNAUTHENTICATED",
    )


async def test_another_companys_endpoint_and_delivery_are_not_found(stub, admin, other_admin):
    made = await create(stub, admin, "https://hooks.example.com/vm")
    endpoint_id = made.endpoint.id
    delivery = (
        await stub.SendTestEvent(
            api.SendTestEventRequest(endpoint_id=endpoint_id), metadata=admin.metadata
        )
    ).delivery
    theirs = other_admin.metadata

    calls = [
        stub.GetEndpoint(api.GetEndpointRequest(endpoint_id=endpoint_id), metadata=theirs),
        stub.UpdateEndpoint(
            api.UpdateEndpointRequest(endpoint_id=endpoint_id, enabled=False), metadata=theirs
        ),
        stub.RotateSecret(api.RotateSecretRequest(endpoint_id=endpoint_id), metadata=theirs),
        stub.ListDeliveries(api.ListDeliveriesRequest(endpoint_id=endpoint_id), metadata=theirs),
        stub.SendTestEvent(api.SendTestEventRequest(endpoint_id=endpoint_id), metadata=theirs),
        stub.RetryDelivery(
            api.RetryDeliveryRequest(endpoint_id=endpoint_id, delivery_id=delivery.id),
            metadata=theirs,
        ),
        stub.DeleteEndpoint(api.DeleteEndpointRequest(endpoint_id=endpoint_id), metadata=theirs),
    ]
    for call in calls:
        assert (await refused(call))[0] == grpc.StatusCode.NOT_FOUND
    listed = await stub.ListEndpoints(api.ListEndpointsRequest(), metadata=theirs)
    assert list(listed.endpoints) == []
    got = await stub.GetEndpoint(
        api.GetEndpointRequest(endpoint_id=endpoint_id), metadata=admin.metadata
    )
    assert got.endpoint.enabled  # the other company's change did not happen


# --- paging ------------------------------------------------------------------------------


async def test_endpoints_and_deliveries_are_paged_newest_delivery_first(stub, admin):
    made = [
        (await create(stub, admin, f"https://hooks.example.com/{n}")).endpoint for n in range(3)
    ]
    endpoints, token = [], ""
    while True:
        page = await stub.ListEndpoints(
            api.ListEndpointsRequest(page_size=2, page_token=token), metadata=admin.metadata
        )
        assert len(page.endpoints) <= 2
        endpoints += [e.id for e in page.endpoints]
        token = page.next_page_token
        if not token:
            break
    assert endpoints == [e.id for e in made]  # oldest first, each once

    endpoint_id = made[0].id
    sent = [
        (
            await stub.SendTestEvent(
                api.SendTestEventRequest(endpoint_id=endpoint_id), metadata=admin.metadata
            )
        ).delivery
        for _ in range(5)
    ]
    listed, token, pages = [], "", 0
    while True:
        page = await stub.ListDeliveries(
            api.ListDeliveriesRequest(endpoint_id=endpoint_id, page_size=2, page_token=token),
            metadata=admin.metadata,
        )
        pages += 1
        listed += list(page.deliveries)
        token = page.next_page_token
        if not token:
            break
    assert pages == 3
    assert sorted(d.id for d in listed) == sorted(d.id for d in sent)
    keys = [(d.created_at.ToDatetime(), d.id) for d in listed]
    assert keys == sorted(keys, reverse=True)  # newest first
    assert {d.event_type for d in listed} == {"webhook.test"}

    pending = await stub.ListDeliveries(
        api.ListDeliveriesRequest(endpoint_id=endpoint_id, state="pending"),
        metadata=admin.metadata,
    )
    assert len(pending.deliveries) == 5 and not pending.next_page_token
    succeeded = await stub.ListDeliveries(
        api.ListDeliveriesRequest(endpoint_id=endpoint_id, state="succeeded"),
        metadata=admin.metadata,
    )
    assert list(succeeded.deliveries) == []
    for bad in (
        api.ListDeliveriesRequest(endpoint_id=endpoint_id, state="lost"),
        api.ListDeliveriesRequest(endpoint_id=endpoint_id, page_token="not a token"),
        api.ListDeliveriesRequest(endpoint_id=endpoint_id, page_size=-1),
    ):
        code, _ = await refused(stub.ListDeliveries(bad, metadata=admin.metadata))
        assert code == grpc.StatusCode.INVALID_ARGUMENT, bad


# --- from an event to the receiver -----------------------------------------------------


async def test_an_internal_event_reaches_the_receiver_signed(
    stub, admin, other_admin, receiver, worker, service, service_settings
):
    made = await create(stub, admin, receiver.url("/blocked"), "number.blocked")
    await create(stub, admin, receiver.url("/payments"), "payment.received")
    await create(stub, other_admin, receiver.url("/theirs"), "*")
    event = number_blocked(admin.company_id)

    await publish(service_settings, service, event)

    await eventually(lambda: receiver.received("/blocked"), what="the delivery arrived")
    [(headers, body)] = receiver.received("/blocked")
    payload = Webhook(made.secret).verify(body, headers)
    assert payload["id"] == event.id
    assert payload["type"] == "number.blocked"
    assert payload["data"]["msisdn"] == MSISDN
    assert headers["webhook-id"] == f"msg_{event.id}"

    async def delivered() -> bool:
        page = await stub.ListDeliveries(
            api.ListDeliveriesRequest(endpoint_id=made.endpoint.id, state="succeeded"),
            metadata=admin.metadata,
        )
        return len(page.deliveries) == 1

    await eventually(delivered, what="the delivery recorded as succeeded")
    [delivery] = (
        await stub.ListDeliveries(
            api.ListDeliveriesRequest(endpoint_id=made.endpoint.id), metadata=admin.metadata
        )
    ).deliveries
    assert delivery.message_id == f"msg_{event.id}"
    assert [a.status_code for a in delivery.attempts] == [200]
    assert delivery.payload == body.decode()

    # A second event, of the other company: it goes to their endpoint, never to ours.
    theirs = number_blocked(other_admin.company_id)
    await publish(service_settings, service, theirs)
    await eventually(lambda: receiver.received("/theirs"), what="their delivery arrived")
    assert len(receiver.received("/blocked")) == 1
    assert receiver.received("/payments") == []


async def test_a_test_event_goes_to_the_endpoint_whatever_it_subscribes_to(
    stub, admin, receiver, worker
):
    made = await create(stub, admin, receiver.url("/only-payments"), "payment.received")

    sent = await stub.SendTestEvent(
        api.SendTestEventRequest(endpoint_id=made.endpoint.id), metadata=admin.metadata
    )

    assert (sent.delivery.event_type, sent.delivery.state) == ("webhook.test", "pending")
    await eventually(lambda: receiver.received("/only-payments"), what="the test event arrived")
    [(headers, body)] = receiver.received("/only-payments")
    payload = Webhook(made.secret).verify(body, headers)
    assert payload["type"] == "webhook.test"
    assert payload["data"]["endpoint_id"] == made.endpoint.id
    assert headers["webhook-id"] == sent.delivery.message_id

    await stub.UpdateEndpoint(
        api.UpdateEndpointRequest(endpoint_id=made.endpoint.id, enabled=False),
        metadata=admin.metadata,
    )
    assert await refused(
        stub.SendTestEvent(
            api.SendTestEventRequest(endpoint_id=made.endpoint.id), metadata=admin.metadata
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_ALLOWED")


async def test_a_failed_delivery_is_sent_again_at_once(stub, admin, receiver, service):
    made = await create(stub, admin, receiver.url("/again"))
    other = await create(stub, admin, receiver.url("/other"))
    sent = await stub.SendTestEvent(
        api.SendTestEventRequest(endpoint_id=made.endpoint.id), metadata=admin.metadata
    )
    deliveries = DeliveryStore(service.db)
    # No worker runs here: the delivery is failed as a day of failures would leave it.
    stored = await deliveries.get(admin.company_id, sent.delivery.id)
    await deliveries.give_up(stored, "made failed for the test")

    assert await refused(
        stub.RetryDelivery(
            api.RetryDeliveryRequest(endpoint_id=other.endpoint.id, delivery_id=stored.id),
            metadata=admin.metadata,
        )
    ) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")

    retried = await stub.RetryDelivery(
        api.RetryDeliveryRequest(endpoint_id=made.endpoint.id, delivery_id=stored.id),
        metadata=admin.metadata,
    )

    assert retried.delivery.state == "succeeded"
    assert [a.status_code for a in retried.delivery.attempts] == [200]
    [(headers, body)] = receiver.received("/again")
    Webhook(made.secret).verify(body, headers)
    assert await refused(
        stub.RetryDelivery(
            api.RetryDeliveryRequest(endpoint_id=made.endpoint.id, delivery_id=stored.id),
            metadata=admin.metadata,
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "NOT_ALLOWED")


# --- the owners told --------------------------------------------------------------------


class Mailbox:
    """The mail server's side: what was handed to it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send_mail(self, to: str, subject: str, text: str, *, attachments=()) -> None:
        self.sent.append((to, subject, text))


def company_created(company_id: str, contact_email: str) -> Event:
    return new_event(
        "vm.identity.company.created.v1",
        identity_events.CompanyCreated(
            company_id=company_id,
            name='ООО "Ромашка"',
            inn="7701234567",
            main_number="79161234567",
            contact_email=contact_email,
        ),
        source="/services/identity",
        company_id=company_id,
    )


async def a_user(
    identity: ServiceRuntime,
    company_id: str,
    email: str,
    *assignments: Assignment,
    status: str = USER_ACTIVE,
) -> None:
    await UserStore(identity.db).insert(
        User(
            id=f"usr_{namespace()}",
            company_id=company_id,
            login=f"u{namespace()}",
            full_name="Сотрудник",
            email=email,
            password_hash="not-a-hash",
            created_at=datetime.now(UTC),
            status=status,
            assignments=assignments,
        )
    )


async def disabled_for_failing(endpoints: EndpointStore, company_id: str, endpoint_id: str):
    day_ago = datetime.now(UTC) - timedelta(hours=25)
    await endpoints.record_failure(company_id, endpoint_id, day_ago)
    assert await endpoints.disable_failing(
        company_id, endpoint_id, DISABLED_FAILING, datetime.now(UTC)
    )


async def test_the_owners_are_told_once_when_a_day_of_failures_disables_an_endpoint(
    identity, stub, admin, other_admin, service, service_settings
):
    # Ours: owners with webhooks.manage for the whole company, and people who are not.
    company = admin.company_id
    await a_user(identity, company, "boss@romashka.example", Assignment("global_admin"))
    await a_user(identity, company, "", Assignment("global_admin"))  # no address
    await a_user(identity, company, "it@romashka.example", Assignment("global_admin"))
    await a_user(identity, company, "viewer@romashka.example", Assignment("viewer"))
    await a_user(
        identity,
        company,
        "former@romashka.example",
        Assignment("global_admin"),
        status=USER_DEACTIVATED,
    )
    # Theirs: nobody with an address of their own, but a contact address.
    await publish(service_settings, service, company_created(company, "info@romashka.ru"))
    theirs = company_created(other_admin.company_id, "office@vasilek.example")
    await publish(service_settings, service, theirs)
    contacts = CompanyContacts(service.db)
    for known in (company, other_admin.company_id):
        await eventually(
            lambda known=known: contacts.email(known), what="the contact address recorded"
        )
    endpoints = EndpointStore(service.db)
    ours = await create(stub, admin, "https://hooks.example.com/dead", description="CRM")
    their = await create(stub, other_admin, "https://hooks.example.com/also-dead")
    nobodys = await add_endpoint(
        endpoints,
        f"cmp_{namespace()}",
        url="https://hooks.example.com/x",
        event_types=["*"],
        dev_mode=False,
        now=datetime.now(UTC),
    )
    await disabled_for_failing(endpoints, company, ours.endpoint.id)
    await disabled_for_failing(endpoints, other_admin.company_id, their.endpoint.id)
    await disabled_for_failing(endpoints, nobodys.endpoint.company_id, nobodys.endpoint.id)
    mailbox = Mailbox()
    operator = service_settings.operator_token.get_secret_value()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity.server.port}") as channel:
        directory = IdentityDirectory(channel, operator, keep_seconds=0)
        notice = OwnersNotice(endpoints, directory, contacts, KnownCompanies(service.db), mailbox)
        told = [await notice.tell_one() for _ in range(4)]
        # Enabled again, then disabled again by another day of failures: told again.
        await stub.UpdateEndpoint(
            api.UpdateEndpointRequest(endpoint_id=ours.endpoint.id, enabled=True),
            metadata=admin.metadata,
        )
        await disabled_for_failing(endpoints, company, ours.endpoint.id)
        told_again = await notice.tell_one()

    assert told == [True, True, True, False]  # each disabling once; then nothing owed
    assert told_again
    first = mailbox.sent[:3]
    assert sorted(to for to, _, _ in first) == [
        "boss@romashka.example",
        "it@romashka.example",
        "office@vasilek.example",
    ]
    assert {subject for _, subject, _ in mailbox.sent} == {"Вебхук отключён"}
    [text] = {text for to, _, text in first if to.endswith("romashka.example")}
    assert "https://hooks.example.com/dead" in text
    assert "«CRM»" in text and 'ООО "Ромашка"' in text
    assert sorted(to for to, _, _ in mailbox.sent[3:]) == [
        "boss@romashka.example",
        "it@romashka.example",
    ]
    got = await stub.GetEndpoint(
        api.GetEndpointRequest(endpoint_id=ours.endpoint.id), metadata=admin.metadata
    )
    assert not got.endpoint.enabled
    assert got.endpoint.disabled_reason == DISABLED_FAILING


# --- the worker's loops ----------------------------------------------------------------


async def test_the_worker_runs_extra_loops_once_the_database_is_ready_and_stops_them(
    service_settings,
):
    started, stopped = asyncio.Event(), asyncio.Event()

    def extra(runtime: ServiceRuntime) -> notifications_worker.Loop:
        async def run(stop: asyncio.Event) -> None:
            started.set()
            await stop.wait()
            stopped.set()

        return run

    runtime, running = await notifications_worker.start(
        service_settings, address="127.0.0.1:0", extra_loops=[extra]
    )
    try:
        await asyncio.wait_for(started.wait(), timeout=30)
        assert not stopped.is_set()
    finally:
        await running.stop(5.0)
        await runtime.stop()
    assert stopped.is_set()
