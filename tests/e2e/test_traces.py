"""One trace from a REST call to every process it wakes: a bulk block over a subtree, as the
system's processes export it over OTLP/HTTP to a receiver of the test's own (a system of
this module's own, started with OTEL_EXPORTER_OTLP_ENDPOINT pointing at it).

The chain asserted: the gateway's request → its gRPC call → catalog's server span, its
transaction and the work queue's dispatch → catalog-worker's job → the events it wrote,
published by the outbox relay → identity's audit consumer (every event) and documents'
operations journal (the operation's updates); every span in that trace has its parent in
it, and each of those steps descends from the one before."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections import Counter
from collections.abc import Iterator

import pytest

from services.catalog.main import operations_queue
from services.kit.settings import SERVICE_NAMES
from tests.e2e.test_catalog_bulk_operations import finished, start
from tests.e2e.test_catalog_hierarchy import three_levels
from tests.e2e.test_catalog_numbers import give_numbers
from tests.e2e.test_identity_flows import bearer, register
from tests.support.kit import eventually
from tests.support.otlp import OtlpReceiver, ReceivedSpan
from tests.support.servers import MongoServer, delete_broker_namespace
from tests.support.system import RunningSystem, start_system

pytestmark = pytest.mark.e2e

SERVER, CLIENT, PRODUCER, CONSUMER = 2, 3, 4, 5  # opentelemetry.proto Span.SpanKind
BLOCKED = "vm.catalog.number.blocked.v1"
OPERATION_UPDATED = "vm.catalog.operation.updated.v1"


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    running = OtlpReceiver().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def system(mongo_server: MongoServer, amqp: str, receiver: OtlpReceiver) -> Iterator[RunningSystem]:
    """This module's own system (in place of the session's), every process exporting its
    spans to `receiver` (batched every 200 ms)."""
    running = start_system(
        mongo_server.url,
        amqp,
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        },
    )
    yield running
    running.stop()
    asyncio.run(delete_broker_namespace(amqp, running.settings.amqp_prefix, SERVICE_NAMES))


class Trace:
    def __init__(self, spans: list[ReceivedSpan]) -> None:
        self.spans = spans
        self.by_id = {s.span_id: s for s in spans}

    def named(self, service: str, name: str, kind: int | None = None) -> list[ReceivedSpan]:
        return [
            s
            for s in self.spans
            if s.service == service and s.name == name and (kind is None or s.kind == kind)
        ]

    def ancestors(self, span: ReceivedSpan) -> list[ReceivedSpan]:
        """From the span's parent up to the trace's root (within what was received)."""
        chain = []
        while span.parent_span_id in self.by_id:
            span = self.by_id[span.parent_span_id]
            chain.append(span)
        return chain

    def descends(self, span: ReceivedSpan, ancestor: ReceivedSpan) -> bool:
        return ancestor in self.ancestors(span)


def log_lines(system: RunningSystem, process: str, trace_id: str) -> list[dict]:
    """The process's JSON log lines of this trace."""
    lines = []
    for text in system.log(process).splitlines():
        with contextlib.suppress(ValueError):
            line = json.loads(text)
            if isinstance(line, dict) and line.get("trace_id") == trace_id:
                lines.append(line)
    return lines


async def settled(receiver: OtlpReceiver, trace_id: str, complete) -> Trace:
    """The trace once `complete` holds of it and no span has come for a second (a span is
    exported when it ends, a parent after its children)."""
    try:
        await eventually(
            lambda: complete(Trace(receiver.spans(trace_id))),
            timeout=30,
            what="every process's spans of the trace",
        )
    except AssertionError as missed:
        held = Counter(f"{s.service}: {s.name}" for s in receiver.spans(trace_id))
        raise AssertionError(f"{missed}; the trace holds {dict(sorted(held.items()))}") from None
    count = -1
    while (now := len(receiver.spans(trace_id))) != count:
        count = now
        await asyncio.sleep(1.0)
    return Trace(receiver.spans(trace_id))


async def test_a_bulk_block_is_one_trace_from_the_request_to_every_consumer(
    system, receiver, api, company
):
    admin = bearer(await register(api, company))
    tree = await three_levels(api, admin)
    await give_numbers(system, company.id, [tree["sales"]["id"], tree["sales"]["id"]])
    await give_numbers(system, company.id, [tree["city"]["id"], tree["other"]["id"]])
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)

    # The client's own trace context: the gateway continues it.
    api.headers["traceparent"] = f"00-{trace_id}-{caller_span}-01"
    try:
        body = {"type": "block", "node_id": tree["city"]["id"], "params": {"type": "voluntary"}}
        op = await start(api, admin, body)
    finally:
        del api.headers["traceparent"]
    done = await finished(api, admin, op["id"])
    assert done["status"] == "succeeded" and done["done"] == 3, done

    job_span = f"{operations_queue(system.settings)} job"

    def complete(t: Trace) -> bool:
        return (
            len(t.named("identity", f"{BLOCKED} process")) == 3
            and bool(t.named("catalog-worker", job_span))
            and bool(t.named("documents", f"{OPERATION_UPDATED} process"))
        )

    t = await settled(receiver, trace_id, complete)

    # Every span of the trace has its parent in it; the one root is the gateway's server
    # span, whose parent is the client's span.
    orphans = [s for s in t.spans if s.parent_span_id not in t.by_id]
    assert [(s.service, s.kind, s.parent_span_id) for s in orphans] == [
        ("gateway", SERVER, caller_span)
    ], orphans
    [request] = orphans
    assert request.attributes.get("http.route") == "/api/v1/operations"

    # gateway → catalog over gRPC: the gateway's client span, catalog's server span.
    [catalog_call] = [s for s in t.spans if s.service == "catalog" and s.kind == SERVER]
    gateway_call = t.by_id[catalog_call.parent_span_id]
    assert (gateway_call.service, gateway_call.kind) == ("gateway", CLIENT)
    assert gateway_call.name == catalog_call.name and t.descends(gateway_call, request)

    # catalog's transaction (the operation and its first event), with the driver's spans.
    [transaction] = [
        s for s in t.named("catalog", "mongodb transaction") if t.descends(s, catalog_call)
    ]
    assert any(s.parent_span_id == transaction.span_id and s.kind == CLIENT for s in t.spans)

    # catalog → the work queue → catalog-worker's job, in a span of its own. (Dispatched by
    # catalog's call, or by a sweeper within the trace kept on the operation. A job is
    # handed out at least once: one the worker was slow to claim is handed out again, and
    # that delivery, which finds it claimed or finished, has a span of its own too.)
    jobs = t.named("catalog-worker", job_span)
    for each in jobs:
        assert each.attributes.get("job.id") == op["id"]
        delivery = t.by_id[each.parent_span_id]
        assert (delivery.service, delivery.kind) == ("catalog-worker", CONSUMER)
        dispatch = t.by_id[delivery.parent_span_id]
        assert dispatch.kind == PRODUCER and "catalog.operations" in dispatch.name
        assert t.descends(dispatch, catalog_call)

    # The job's events, published by the outbox relay within the trace of the job's run,
    # each consumed by identity's audit log: process ← delivery ← the relay's publish ←
    # the job.
    audits = t.named("identity", f"{BLOCKED} process")
    assert len(audits) == 3
    publishes = []
    for audit in audits:
        assert audit.attributes.get("cloudevents.event_type") == BLOCKED
        received = t.by_id[audit.parent_span_id]
        assert (received.service, received.kind) == ("identity", CONSUMER)
        published = t.by_id[received.parent_span_id]
        assert published.kind == PRODUCER and published.service in ("catalog", "catalog-worker")
        publishes.append(published)
    [job] = [each for each in jobs if all(t.descends(p, each) for p in publishes)]

    # The operation's updates reach documents' operations journal in the same trace: the
    # first one written by catalog's call, the later ones by the worker's job; identity's
    # audit log takes them too.
    journal = t.named("documents", f"{OPERATION_UPDATED} process")
    assert any(t.descends(s, catalog_call) and not t.descends(s, job) for s in journal)
    assert any(t.descends(s, job) for s in journal)
    assert t.named("identity", f"{OPERATION_UPDATED} process")
    # The JSON logs carry the same trace id: the gateway's access log line of the request,
    # catalog's of the call, and the worker's lines of the job.
    assert any(
        line.get("msg") == "request" and line.get("route") == "/api/v1/operations"
        for line in log_lines(system, "gateway", trace_id)
    )
    assert any(
        line.get("msg") == "rpc" and line.get("method", "").endswith("/StartBulkOperation")
        for line in log_lines(system, "catalog", trace_id)
    )
    assert log_lines(system, "catalog-worker", trace_id)
    assert {s.service for s in t.spans} >= {
        "gateway",
        "catalog",
        "catalog-worker",
        "identity",
        "documents",
    }
