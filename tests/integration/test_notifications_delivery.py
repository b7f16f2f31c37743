"""Webhook delivery against the real MongoDB-protocol server and a real HTTP receiver on
127.0.0.1 (dev mode, since loopback is refused otherwise): signed deliveries the receiver
verifies, retries on the schedule with the clock moved by hand, timeouts, redirects not
followed, answers cut to 1 KB, a dead endpoint disabled after a day, private addresses
refused without a connection, deliveries of a number in order, two workers never on the
same delivery (an endpoint held by one worker at a time, let go when it stops), a slow
endpoint not holding up another, a rotated secret's two signatures, manual retry, and
https to a name verified against that name while an address is dialled."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pymongo.asynchronous.database import AsyncDatabase
from standardwebhooks import Webhook

from services.kit.errors import NotAllowed, NotFound
from services.kit.events import Event
from services.kit.mongo import Transactions
from services.notifications.domain import delivery_schedule
from services.notifications.domain.addresses import ForbiddenAddress
from services.notifications.domain.webhooks import (
    DELIVERED,
    DISABLED_FAILING,
    FAILED,
    PENDING,
    Delivery,
)
from services.notifications.service.delivering import (
    Deliverer,
    DeliveryWorker,
    WorkerLimits,
    retry_delivery,
)
from services.notifications.service.endpoints import WithSecret, add_endpoint, rotate_secret
from services.notifications.service.fan_out import fan_out
from services.notifications.service.webhook_http import (
    CheckedAddressBackend,
    Timeouts,
    WebhookClient,
)
from services.notifications.store.deliveries import DeliveryStore
from services.notifications.store.endpoints import EndpointStore
from tests.support.webhook_receiver import Receiver, Reply, start_receiver, stop_receiver

pytestmark = pytest.mark.integration

A, B = "cmp_a", "cmp_b"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MSISDN_1, MSISDN_2 = "79161000001", "79161000002"
SNI_HOST = "hooks.example.test"


# --- a receiver (tests/support/webhook_receiver.py) -----------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = start_receiver()
    yield started
    stop_receiver(started)


# --- the notifications' parts -----------------------------------------------------------


@dataclass
class Parts:
    endpoints: EndpointStore
    deliveries: DeliveryStore
    client: WebhookClient
    deliverer: Deliverer

    def worker(self, limits: WorkerLimits | None = None, holder: str | None = None):
        return DeliveryWorker(
            self.deliveries, self.deliverer, limits=limits or WorkerLimits(), holder=holder
        )


async def make_parts(db: AsyncDatabase, client: WebhookClient, *, dev_mode: bool) -> Parts:
    endpoints, deliveries = EndpointStore(db), DeliveryStore(db)
    await endpoints.ensure_indexes()
    await deliveries.ensure_indexes()
    return Parts(
        endpoints, deliveries, client, Deliverer(deliveries, endpoints, client, dev_mode=dev_mode)
    )


FAST = Timeouts(connect=2.0, read=0.5, total=5.0)


@pytest.fixture
async def parts(db: AsyncDatabase) -> AsyncIterator[Parts]:
    client = WebhookClient(dev_mode=True, timeouts=FAST)
    yield await make_parts(db, client, dev_mode=True)
    await client.aclose()


async def an_endpoint(
    parts: Parts, url: str, *, company: str = A, types: tuple[str, ...] = ("*",)
) -> WithSecret:
    return await add_endpoint(
        parts.endpoints, company, url=url, event_types=list(types), dev_mode=True, now=T0
    )


def an_event(
    msisdn: str | None = MSISDN_1,
    *,
    company: str | None = A,
    at: datetime = T0,
    event_type: str = "number.blocked",
) -> Event:
    data = {"msisdn": msisdn, "reason": "financial"} if msisdn else {"amount": 100}
    return Event(
        id=str(uuid.uuid4()),
        type=event_type,
        source="/services/catalog",
        time=at,
        data=data,
        company_id=company,
    )


async def fanned_out(parts: Parts, *events: Event, now: datetime = T0) -> list[Delivery]:
    made: list[Delivery] = []
    for event in events:
        made += await fan_out(event, parts.endpoints, parts.deliveries, now)
    return made


async def current(parts: Parts, delivery: Delivery) -> Delivery:
    return await parts.deliveries.get(delivery.company_id, delivery.id)


# --- signed and verified ---------------------------------------------------------------


async def test_a_delivery_is_signed_and_the_receiver_verifies_it(parts, receiver):
    added = await an_endpoint(parts, receiver.url("/hook"))
    event = an_event()
    [delivery] = await fanned_out(parts, event)

    [outcome] = await parts.worker().run_once(datetime.now(UTC))

    assert outcome.state == DELIVERED
    [request] = receiver.requests
    payload = Webhook(added.secret).verify(request.body, request.headers)
    assert payload["id"] == event.id
    assert payload["type"] == "number.blocked"
    assert payload["data"] == {"msisdn": MSISDN_1, "reason": "financial"}
    assert request.headers["webhook-id"] == f"msg_{event.id}" == delivery.message_id
    assert request.headers["content-type"] == "application/json"
    stored = await current(parts, delivery)
    assert stored.state == DELIVERED
    assert [a.status_code for a in stored.attempts] == [200]
    assert stored.attempts[0].answer == "ok"


async def test_after_a_rotation_both_secrets_sign_each_delivery(parts, receiver):
    added = await an_endpoint(parts, receiver.url("/hook"))
    rotated = await rotate_secret(parts.endpoints, A, added.endpoint.id, datetime.now(UTC))
    await fanned_out(parts, an_event())

    await parts.worker().run_once(datetime.now(UTC))

    [request] = receiver.requests
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    Webhook(added.secret).verify(request.body, request.headers)
    Webhook(rotated.secret).verify(request.body, request.headers)
    assert rotated.secret != added.secret


# --- retries, timeouts, redirects, answers ------------------------------------------


async def test_two_failures_then_a_success_delivers_on_the_third_attempt(parts, receiver):
    receiver.scripts["/hook"] = [Reply(500, b"down"), Reply(503, b"still down"), Reply(200)]
    await an_endpoint(parts, receiver.url("/hook"))
    [delivery] = await fanned_out(parts, an_event())
    worker = parts.worker()

    assert [o.state for o in await worker.run_once(T0)] == [PENDING]
    assert (await current(parts, delivery)).next_attempt_at == T0 + timedelta(seconds=5)
    assert await worker.run_once(T0 + timedelta(seconds=4)) == []  # not due yet
    assert [o.state for o in await worker.run_once(T0 + timedelta(seconds=5))] == [PENDING]
    assert (await current(parts, delivery)).next_attempt_at == T0 + timedelta(seconds=35)
    assert [o.state for o in await worker.run_once(T0 + timedelta(seconds=35))] == [DELIVERED]

    stored = await current(parts, delivery)
    assert [a.status_code for a in stored.attempts] == [500, 503, 200]
    assert [a.answer for a in stored.attempts] == ["down", "still down", "ok"]
    assert stored.next_attempt_at is None
    endpoint = await parts.endpoints.get(A, delivery.endpoint_id)
    assert endpoint.failing_since is None  # the success ended the streak


async def test_a_timeout_is_recorded_as_an_attempt(parts, receiver):
    receiver.scripts["/slow"] = [Reply(200, delay=1.5)]
    await an_endpoint(parts, receiver.url("/slow"))
    [delivery] = await fanned_out(parts, an_event())

    [outcome] = await parts.worker().run_once(T0)

    assert outcome.state == PENDING
    [attempt] = (await current(parts, delivery)).attempts
    assert attempt.status_code is None
    assert "no answer within 0.5 s" in attempt.error
    assert 400 <= attempt.latency_ms < 1500


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(parts, receiver):
    receiver.scripts["/moved"] = [Reply(302, b"", headers=(("location", "/elsewhere"),))]
    await an_endpoint(parts, receiver.url("/moved"))
    [delivery] = await fanned_out(parts, an_event())

    [outcome] = await parts.worker().run_once(T0)

    assert outcome.state == PENDING
    assert receiver.paths() == ["/moved"]
    assert [a.status_code for a in (await current(parts, delivery)).attempts] == [302]


async def test_only_the_first_kilobyte_of_the_answer_is_kept(parts, receiver):
    receiver.scripts["/chatty"] = [Reply(500, "я".encode() * 40_000)]
    await an_endpoint(parts, receiver.url("/chatty"))
    [delivery] = await fanned_out(parts, an_event())

    await parts.worker().run_once(T0)

    [attempt] = (await current(parts, delivery)).attempts
    assert attempt.status_code == 500
    assert attempt.answer == "я" * 512


async def test_a_delivery_fails_for_good_when_the_day_is_over_and_can_be_sent_again(
    parts, receiver
):
    receiver.defaults["/down"] = Reply(500)
    await an_endpoint(parts, receiver.url("/down"))
    [delivery] = await fanned_out(parts, an_event())
    worker = parts.worker()

    now = T0
    while (stored := await current(parts, delivery)).state == PENDING:
        assert stored.next_attempt_at is not None
        now = stored.next_attempt_at
        await worker.run_once(now)

    assert stored.state == FAILED
    assert len(stored.attempts) == delivery_schedule.attempts_in_window()
    assert stored.attempts[-1].at - T0 <= delivery_schedule.DELIVERY_WINDOW

    receiver.defaults["/down"] = Reply(200)
    again = now + timedelta(hours=2)
    outcome = await retry_delivery(parts.deliveries, parts.deliverer, A, delivery.id, again)
    assert outcome.state == DELIVERED
    assert (await current(parts, delivery)).attempts[-1].at == again

    with pytest.raises(NotAllowed):  # delivered: nothing to send again
        await retry_delivery(parts.deliveries, parts.deliverer, A, delivery.id, again)
    with pytest.raises(NotFound):  # another company's delivery
        await retry_delivery(parts.deliveries, parts.deliverer, B, delivery.id, again)


async def test_a_retried_delivery_that_fails_starts_a_new_schedule(parts, receiver):
    receiver.defaults["/down"] = Reply(500)
    await an_endpoint(parts, receiver.url("/down"))
    [delivery] = await fanned_out(parts, an_event())
    await parts.deliveries.give_up(delivery, "made failed for the test")

    later = T0 + timedelta(days=3)
    outcome = await retry_delivery(parts.deliveries, parts.deliverer, A, delivery.id, later)

    assert outcome.state == PENDING
    assert (await current(parts, delivery)).next_attempt_at == later + timedelta(seconds=5)


async def test_a_due_delivery_of_a_held_endpoint_is_not_sent_by_hand_until_its_lease_ends(
    parts, receiver
):
    await an_endpoint(parts, receiver.url("/hook"))
    [delivery] = await fanned_out(parts, an_event())
    lease_until = T0 + timedelta(seconds=60)
    # A worker holds the endpoint: it is sending the due delivery, or about to.
    assert await parts.deliveries.hold_endpoint(delivery.endpoint_id, "a worker", T0, lease_until)

    with pytest.raises(NotAllowed):
        await retry_delivery(parts.deliveries, parts.deliverer, A, delivery.id, T0)
    assert (await current(parts, delivery)).state == PENDING  # let go, as it was
    outcome = await retry_delivery(  # the worker died: its lease ran out
        parts.deliveries, parts.deliverer, A, delivery.id, lease_until
    )

    assert outcome.state == DELIVERED
    assert len(receiver.requests) == 1


async def test_a_delivery_waiting_for_its_next_attempt_is_sent_by_hand_beside_a_worker(
    parts, receiver
):
    await an_endpoint(parts, receiver.url("/hook"))
    receiver.defaults["/hook"] = Reply(500)
    [delivery] = await fanned_out(parts, an_event())
    [failed] = await parts.worker(holder="a worker").run_once(T0)  # holds the endpoint
    assert failed.state == PENDING  # the next attempt in 5 s
    receiver.defaults["/hook"] = Reply(200)

    outcome = await retry_delivery(
        parts.deliveries, parts.deliverer, A, delivery.id, T0 + timedelta(seconds=1)
    )

    assert outcome.state == DELIVERED
    # The worker's next pass finds it sent: nothing goes out twice.
    assert await parts.worker(holder="a worker").run_once(T0 + timedelta(seconds=6)) == []
    assert len(receiver.requests) == 2


# --- the endpoint disabled after a day ----------------------------------------------


async def test_an_endpoint_failing_for_a_day_is_disabled_once(parts, receiver):
    receiver.defaults["/dead"] = Reply(500)
    added = await an_endpoint(parts, receiver.url("/dead"))
    worker = parts.worker()
    [first] = await fanned_out(parts, an_event(None))
    [outcome] = await worker.run_once(T0)
    assert not outcome.endpoint_disabled
    assert (await parts.endpoints.get(A, added.endpoint.id)).failing_since == T0

    day_later = T0 + timedelta(hours=24)
    await fanned_out(parts, an_event(None, at=day_later), now=day_later)
    outcomes = await worker.run_once(day_later)

    assert len(outcomes) == 2
    assert [o.endpoint_disabled for o in outcomes].count(True) == 1
    endpoint = await parts.endpoints.get(A, added.endpoint.id)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == DISABLED_FAILING
    assert endpoint.disabled_at == day_later
    # No new deliveries for it, and what was pending ends without another attempt (the
    # second delivery may already have found it disabled, racing the first).
    assert await fanned_out(parts, an_event(None, at=day_later), now=day_later) == []
    requests = len(receiver.requests)
    given_up = await worker.run_once(day_later + timedelta(hours=6))
    assert {(o.state, o.attempt) for o in given_up} == {(FAILED, None)}
    assert len(receiver.requests) == requests
    stored = await parts.deliveries.of_endpoint(A, added.endpoint.id)
    assert first.id in {d.id for d in stored}
    assert {d.state for d in stored} == {FAILED}
    assert all("disabled" in d.failure for d in stored)


async def test_one_success_within_the_day_keeps_the_endpoint_on(parts, receiver):
    receiver.scripts["/flaky"] = [Reply(500), Reply(200), Reply(500)]
    added = await an_endpoint(parts, receiver.url("/flaky"))
    worker = parts.worker()
    await fanned_out(parts, an_event(None))
    await worker.run_once(T0)
    await worker.run_once(T0 + timedelta(seconds=5))  # delivered: the streak ends

    late = T0 + timedelta(hours=25)
    await fanned_out(parts, an_event(None, at=late), now=late)
    [outcome] = await worker.run_once(late)

    assert not outcome.endpoint_disabled
    endpoint = await parts.endpoints.get(A, added.endpoint.id)
    assert endpoint.enabled
    assert endpoint.failing_since == late


# --- addresses -------------------------------------------------------------------------


async def test_a_private_address_is_refused_without_connecting(db):
    connections = 0

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        writer.close()

    server = await asyncio.start_server(count, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    async def resolver(host: str, port: int) -> list[str]:
        # A public name that resolves to loopback: a rebinding, or a careless DNS entry.
        return {"hooks.example.com": ["127.0.0.1"], "mixed.example.com": ["8.8.8.8", "10.1.2.3"]}[
            host
        ]

    client = WebhookClient(dev_mode=False, resolver=resolver, timeouts=FAST)
    try:
        parts = await make_parts(db, client, dev_mode=False)
        for host in ("hooks.example.com", "mixed.example.com"):
            await add_endpoint(
                parts.endpoints,
                A,
                url=f"https://{host}:{port}/hook",
                event_types=["*"],
                dev_mode=False,
                now=T0,
            )
        await fanned_out(parts, an_event(None))

        outcomes = await parts.worker().run_once(T0)

        errors = sorted(o.attempt.error for o in outcomes if o.attempt)
        assert len(errors) == 2
        assert "resolves to a loopback address" in errors[0]
        assert "resolves to a private address" in errors[1]
        assert all("127.0.0.1" not in e and "10.1.2.3" not in e for e in errors)
        assert {o.state for o in outcomes} == {PENDING}
        assert connections == 0
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


async def test_the_backend_resolves_and_checks_again_at_each_connection():
    answers = iter([["169.254.169.254"], ["93.184.216.34", "10.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    backend = CheckedAddressBackend(dev_mode=False, resolver=rebinding)
    with pytest.raises(ForbiddenAddress, match="metadata"):
        await backend.connect_tcp("hooks.example.com", 443, timeout=1.0)
    with pytest.raises(ForbiddenAddress, match="private"):
        await backend.connect_tcp("hooks.example.com", 443, timeout=1.0)


async def test_the_resolved_address_is_dialled_with_the_urls_host_kept(parts, receiver, db):
    async def resolver(host: str, port: int) -> list[str]:
        assert host == "hooks.example.test"
        return ["127.0.0.1"]

    client = WebhookClient(dev_mode=True, resolver=resolver, timeouts=FAST)
    try:
        named = await make_parts(db, client, dev_mode=True)
        await an_endpoint(named, receiver.url("/hook", host="hooks.example.test"))
        await fanned_out(named, an_event())

        [outcome] = await named.worker().run_once(T0)

        assert outcome.state == DELIVERED
        [request] = receiver.requests
        assert request.headers["Host"] == f"hooks.example.test:{receiver.port}"
    finally:
        await client.aclose()


def _self_signed(host: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


async def test_https_to_a_name_is_verified_against_the_name_while_an_address_is_dialled(
    db, tmp_path
):
    cert_pem, key_pem = _self_signed(SNI_HOST)
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server_names: list[str | None] = []
    server_tls.sni_callback = lambda sock, name, context: server_names.append(name)
    tls_receiver = start_receiver(server_tls)
    trusting = ssl.create_default_context(cadata=cert_pem.decode())

    async def resolver(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    client = WebhookClient(dev_mode=True, resolver=resolver, timeouts=FAST, ssl_context=trusting)
    try:
        parts = await make_parts(db, client, dev_mode=True)
        good = await an_endpoint(parts, tls_receiver.url("/hook", SNI_HOST, "https"))
        # The same address under another name: the certificate does not name it.
        await an_endpoint(parts, tls_receiver.url("/hook", "other.example.test", "https"))
        await fanned_out(parts, an_event(None))

        outcomes = await parts.worker().run_once(datetime.now(UTC))

        by_endpoint = {o.endpoint_id: o for o in outcomes}
        assert by_endpoint.pop(good.endpoint.id).state == DELIVERED
        [refused] = by_endpoint.values()
        assert refused.attempt is not None
        assert refused.attempt.status_code is None
        assert "certificate" in refused.attempt.error.lower()
        assert len(tls_receiver.requests) == 1
        assert SNI_HOST in server_names
    finally:
        await client.aclose()
        tls_receiver.server.shutdown()
        tls_receiver.server.server_close()


# --- order, claims, fairness ---------------------------------------------------------


async def test_deliveries_of_one_number_go_in_order(parts, receiver):
    await an_endpoint(parts, receiver.url("/hook"))
    first = an_event(MSISDN_1, at=T0)
    receiver.scripts[f"msg_{first.id}"] = [Reply(500)]
    second = an_event(MSISDN_1, at=T0 + timedelta(seconds=1))
    other_number = an_event(MSISDN_2, at=T0 + timedelta(seconds=2))
    # Fanned out in the wrong order: the events' times decide.
    await fanned_out(parts, second, other_number, first)
    worker = parts.worker()

    await worker.run_once(T0)  # the first fails; the second waits; the other number goes
    await worker.run_once(T0 + timedelta(seconds=5))  # the first is delivered
    await worker.run_once(T0 + timedelta(seconds=5))  # now the second

    sent = [r.headers["webhook-id"] for r in receiver.requests]
    ids = {e.id: f"msg_{e.id}" for e in (first, second, other_number)}
    assert sorted(sent[:2]) == sorted([ids[first.id], ids[other_number.id]])
    assert sent[2:] == [ids[first.id], ids[second.id]]


async def test_two_workers_never_attempt_the_same_delivery(parts, receiver):
    for n in range(3):
        await an_endpoint(parts, receiver.url(f"/hook{n}"))
    events = [an_event(None, at=T0 + timedelta(milliseconds=n)) for n in range(15)]
    made = await fanned_out(parts, *events)
    assert len(made) == 45
    limits = WorkerLimits(overall=10, per_endpoint=5)
    one, two = parts.worker(limits, "one"), parts.worker(limits, "two")

    outcomes = []
    for _ in range(10):
        passes = await asyncio.gather(one.run_once(T0), two.run_once(T0))
        outcomes += [o for p in passes for o in p]
        if not any(passes):
            break

    assert len(outcomes) == 45
    assert len({o.delivery_id for o in outcomes}) == 45
    sent = [(r.path, r.headers["webhook-id"]) for r in receiver.requests]
    assert len(sent) == len(set(sent)) == 45
    for delivery in made:
        assert len((await current(parts, delivery)).attempts) == 1


async def test_a_slow_endpoint_does_not_hold_up_another(db, receiver):
    receiver.defaults["/slow"] = Reply(200, delay=1.0)
    client = WebhookClient(dev_mode=True, timeouts=Timeouts(connect=2.0, read=3.0, total=5.0))
    try:
        parts = await make_parts(db, client, dev_mode=True)
        slow = await an_endpoint(parts, receiver.url("/slow"), types=("payment.received",))
        fast = await an_endpoint(parts, receiver.url("/fast"), types=("number.blocked",))
        await fanned_out(parts, *(an_event(None, event_type="payment.received") for _ in range(5)))
        await fanned_out(parts, an_event(None, at=T0 + timedelta(seconds=1)))
        worker = parts.worker(WorkerLimits(overall=4, per_endpoint=2))

        started = time.monotonic()
        outcomes = await worker.run_once(T0 + timedelta(seconds=1))

        assert {o.state for o in outcomes} == {DELIVERED}
        by_endpoint = [o.endpoint_id for o in outcomes]
        assert by_endpoint.count(slow.endpoint.id) == 2  # its share, no more
        assert by_endpoint.count(fast.endpoint.id) == 1
        fast_request = next(r for r in receiver.requests if r.path == "/fast")
        assert fast_request.arrived - started < 0.8  # not behind the slow ones
        assert time.monotonic() - started < 1.9  # the slow ones ran side by side
    finally:
        await client.aclose()


# --- endpoints and fan-out ------------------------------------------------------------


async def test_fan_out_is_idempotent_and_stays_in_the_company(parts, transactions: Transactions):
    everything = await an_endpoint(parts, "http://127.0.0.1:9/a")
    blocks = await an_endpoint(parts, "http://127.0.0.1:9/b", types=("number.blocked",))
    await an_endpoint(parts, "http://127.0.0.1:9/c", types=("payment.received",))
    switched_off = await an_endpoint(parts, "http://127.0.0.1:9/d")
    await parts.endpoints.save(replace(switched_off.endpoint, enabled=False))
    others = await an_endpoint(parts, "http://127.0.0.1:9/e", company=B)
    event = an_event()

    async def handle(session) -> list[Delivery]:
        return await fan_out(event, parts.endpoints, parts.deliveries, T0, session)

    made = await transactions.run(handle)
    again = await transactions.run(handle)
    outside = await fan_out(event, parts.endpoints, parts.deliveries, T0)

    assert {d.endpoint_id for d in made} == {everything.endpoint.id, blocks.endpoint.id}
    assert again == outside == []
    assert {d.message_id for d in made} == {f"msg_{event.id}"}
    assert {d.ordering_key for d in made} == {MSISDN_1}
    assert await parts.deliveries.of_endpoint(B, others.endpoint.id) == []
    assert await parts.deliveries.of_endpoint(B, everything.endpoint.id) == []
    assert len(await parts.deliveries.of_endpoint(A, everything.endpoint.id)) == 1
    assert await fan_out(an_event(company=None), parts.endpoints, parts.deliveries, T0) == []
    with pytest.raises(ValueError, match="not a public event"):
        await fan_out(
            an_event(event_type="vm.catalog.number.blocked.v1"),
            parts.endpoints,
            parts.deliveries,
            T0,
        )


async def test_the_running_worker_delivers_without_waiting_for_a_slow_endpoint(parts, receiver):
    receiver.defaults["/slow"] = Reply(200, delay=1.0)
    await an_endpoint(parts, receiver.url("/slow"), types=("payment.received",))
    await an_endpoint(parts, receiver.url("/fast"), types=("number.blocked",))
    await fanned_out(parts, an_event(None, event_type="payment.received"))
    worker = parts.worker()
    running = asyncio.create_task(worker.run(poll=0.05))
    try:
        await asyncio.sleep(0.2)  # the slow attempt is under way
        [fast] = await fanned_out(parts, an_event(None), now=datetime.now(UTC))

        for _ in range(40):
            if (await current(parts, fast)).state == DELIVERED:
                break
            await asyncio.sleep(0.05)

        assert (await current(parts, fast)).state == DELIVERED
        assert "/fast" in receiver.paths()
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=10)
    assert receiver.paths().count("/slow") == 1  # finished, not cut short, nor sent twice


async def test_one_endpoints_backlog_does_not_hide_another_endpoints_deliveries(parts, receiver):
    busy = await an_endpoint(parts, receiver.url("/busy"), types=("payment.received",))
    quiet = await an_endpoint(parts, receiver.url("/quiet"), types=("number.blocked",))
    await fanned_out(parts, *(an_event(None, event_type="payment.received") for _ in range(7)))
    await fanned_out(parts, an_event(None), now=T0 + timedelta(seconds=1))
    # Reads of 3: the first holds only the busy endpoint's deliveries.
    worker = parts.worker(WorkerLimits(overall=4, per_endpoint=1, scan=3, scans=3))

    outcomes = await worker.run_once(T0 + timedelta(seconds=1))

    assert sorted(o.endpoint_id for o in outcomes) == sorted([busy.endpoint.id, quiet.endpoint.id])


class CountedReads(DeliveryStore):
    """The real store, counting the workers' reads of due deliveries and what they take."""

    def __init__(self, deliveries: DeliveryStore) -> None:
        self.__dict__.update(deliveries.__dict__)
        self.due_reads = 0
        self.order_reads = 0  # "is an earlier event of the number pending?"
        self.claims = 0
        self.reads_before_last_claim = 0  # the reads while a backlog was being claimed

    async def due(self, *args, **kwargs) -> list[Delivery]:
        self.due_reads += 1
        return await super().due(*args, **kwargs)

    async def waiting_for_earlier(self, *args, **kwargs) -> set[str]:
        self.order_reads += 1
        return await super().waiting_for_earlier(*args, **kwargs)

    async def still_due(self, *args, **kwargs) -> list[Delivery]:
        held = await super().still_due(*args, **kwargs)
        if held:
            self.claims += 1
            self.reads_before_last_claim = self.due_reads
        return held


async def delivered_all(parts: Parts, made: list[Delivery], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        states = {(await current(parts, d)).state for d in made}
        if states == {DELIVERED}:
            return True
        await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize(
    ("overall", "per_endpoint"),
    [(4, 4), (8, 2)],
    ids=["the run fills every slot", "the endpoint's share leaves slots free"],
)
async def test_a_running_worker_reads_a_backlog_once_not_once_per_freed_slot(
    parts, receiver, overall, per_endpoint
):
    await an_endpoint(parts, receiver.url("/hook"))
    made = await fanned_out(parts, *(an_event(None) for _ in range(40)))
    counted = CountedReads(parts.deliveries)
    # A few at a time: ten passes at least, each after slots were freed.
    limits = WorkerLimits(
        overall=overall, per_endpoint=per_endpoint, reread_after=timedelta(minutes=1)
    )
    worker = DeliveryWorker(counted, parts.deliverer, limits=limits)
    running = asyncio.create_task(worker.run(poll=0.05))
    try:
        assert await delivered_all(parts, made)
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=10)

    assert counted.claims >= 10
    # The backlog read once, then claimed from what was read. (Once it is used up, each
    # pass reads again: the worker is idle, and what is pending is little.)
    assert counted.reads_before_last_claim == 1
    assert len(receiver.requests) == 40


async def test_a_numbers_first_delivery_is_found_behind_any_number_of_its_later_ones(
    parts, receiver
):
    await an_endpoint(parts, receiver.url("/hook"))
    events = [an_event(MSISDN_1, at=T0 + timedelta(milliseconds=n)) for n in range(100)]
    await fanned_out(parts, *events)
    counted = CountedReads(parts.deliveries)
    # Looks of 16 at a time, in the order the deliveries fell due (all at once here, so
    # by id): the first event's delivery is anywhere among them.
    limits = WorkerLimits(overall=4, per_endpoint=4)
    worker = DeliveryWorker(counted, parts.deliverer, limits=limits)

    [first] = await worker.run_once(T0)

    assert first.state == DELIVERED
    assert receiver.requests[0].headers["webhook-id"] == f"msg_{events[0].id}"
    assert counted.due_reads == 1  # the rest of the run was looked at, not read again


async def test_a_delivery_due_after_the_read_goes_out_while_the_run_lasts(parts, receiver):
    receiver.defaults["/slow"] = Reply(200, delay=1.0)
    await an_endpoint(parts, receiver.url("/slow"), types=("payment.received",))
    await an_endpoint(parts, receiver.url("/fast"), types=("number.blocked",))
    await fanned_out(parts, *(an_event(None, event_type="payment.received") for _ in range(6)))
    # Two at a time to the slow endpoint: its run lasts three seconds.
    limits = WorkerLimits(overall=8, per_endpoint=2, reread_after=timedelta(seconds=0.2))
    worker = parts.worker(limits)
    running = asyncio.create_task(worker.run(poll=0.05))
    try:
        await asyncio.sleep(0.3)  # the first two slow attempts are under way
        [fast] = await fanned_out(parts, an_event(None), now=datetime.now(UTC))

        assert await delivered_all(parts, [fast], seconds=2.0)
        assert receiver.paths().count("/slow") < 6  # not after the slow endpoint's run
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=15)


async def test_two_running_workers_never_attempt_the_same_delivery(parts, receiver):
    for n in range(3):
        await an_endpoint(parts, receiver.url(f"/hook{n}"))
    made = await fanned_out(parts, *(an_event(None) for _ in range(15)))
    limits = WorkerLimits(overall=10, per_endpoint=5)
    one, two = parts.worker(limits, "one"), parts.worker(limits, "two")
    running = [asyncio.create_task(w.run(poll=0.05)) for w in (one, two)]
    try:
        assert await delivered_all(parts, made)
    finally:
        one.stop()
        two.stop()
        await asyncio.wait_for(asyncio.gather(*running), timeout=10)

    sent = [(r.path, r.headers["webhook-id"]) for r in receiver.requests]
    assert len(sent) == len(set(sent)) == 45
    for delivery in made:
        assert len((await current(parts, delivery)).attempts) == 1


async def test_an_endpoint_a_worker_holds_is_left_to_it_until_its_lease_runs_out(parts, receiver):
    added = await an_endpoint(parts, receiver.url("/hook"))
    [delivery] = await fanned_out(parts, an_event())
    lease = WorkerLimits().lease
    # A worker took the endpoint and died without a word.
    assert await parts.deliveries.hold_endpoint(added.endpoint.id, "gone", T0, T0 + lease)
    other = parts.worker(holder="other")

    assert await other.run_once(T0) == []
    assert await other.run_once(T0 + lease - timedelta(seconds=10)) == []
    [outcome] = await other.run_once(T0 + lease)

    assert (outcome.delivery_id, outcome.state) == (delivery.id, DELIVERED)
    assert len(receiver.requests) == 1


async def test_a_worker_writes_nothing_into_a_delivery_before_its_attempt_and_lets_go_when_stopping(
    parts, receiver
):
    receiver.defaults["/hook"] = Reply(200, delay=0.25)  # within FAST's read timeout
    await an_endpoint(parts, receiver.url("/hook"))
    [delivery] = await fanned_out(parts, an_event(), now=datetime.now(UTC))
    fanned = await current(parts, delivery)
    worker = parts.worker(holder="first")
    running = asyncio.create_task(worker.run(poll=0.05))
    try:
        await eventually_true(lambda: len(receiver.requests) == 1)
        # Being sent: the delivery is as fan-out wrote it, held by nobody.
        assert await current(parts, delivery) == fanned
        assert await delivered_all(parts, [delivery])
    finally:
        worker.stop()
        await asyncio.wait_for(running, timeout=10)
    receiver.defaults["/hook"] = Reply(200)
    [later] = await fanned_out(parts, an_event(MSISDN_2), now=datetime.now(UTC))

    # Let go when it stopped: another worker takes the endpoint at once.
    [outcome] = await parts.worker(holder="second").run_once(datetime.now(UTC))

    assert (outcome.delivery_id, outcome.state) == (later.id, DELIVERED)
    assert [r.headers["webhook-id"] for r in receiver.requests] == [
        delivery.message_id,
        later.message_id,
    ]


async def eventually_true(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never came true"
        await asyncio.sleep(0.02)


async def test_an_unresolvable_host_is_a_failed_attempt(db):
    async def nothing(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    client = WebhookClient(dev_mode=True, resolver=nothing, timeouts=FAST)
    try:
        parts = await make_parts(db, client, dev_mode=True)
        await an_endpoint(parts, "http://gone.example.test/hook")
        [delivery] = await fanned_out(parts, an_event())

        [outcome] = await parts.worker().run_once(T0)

        assert outcome.state == PENDING
        [attempt] = (await current(parts, delivery)).attempts
        assert attempt.status_code is None
        assert "could not be resolved" in attempt.error
    finally:
        await client.aclose()


async def test_a_delivery_of_a_deleted_endpoint_ends_without_an_attempt(parts, receiver):
    added = await an_endpoint(parts, receiver.url("/hook"))
    [delivery] = await fanned_out(parts, an_event())
    await parts.endpoints.delete(A, added.endpoint.id)

    [outcome] = await parts.worker().run_once(T0)

    assert (outcome.state, outcome.attempt) == (FAILED, None)
    stored = await current(parts, delivery)
    assert stored.failure == "the endpoint was deleted"
    assert receiver.requests == []
