"""services/kit/tracing.py with the real MongoDB-protocol server and RabbitMQ, in this
process, the spans kept by an in-memory exporter: an event goes on in the trace of the
call that wrote it, through the outbox relay and the broker to the consumer; a job goes on
in the trace of the call that made it, even when a sweeper dispatched it; the relay's and
the sweeper's own polling make no spans."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from services.kit.broker import EventPublisher
from services.kit.context import trace_id
from services.kit.events import new_event
from services.kit.job_leases import JobLeases, traced_job
from services.kit.outbox import Outbox, OutboxRelay
from services.kit.settings import Settings
from services.kit.work_queue import WorkQueue, take_work
from tests.support.kit import Clients, eventually, make_consumer
from tests.support.tracing import hex_id, outside, parent_id, recorded_spans

pytestmark = pytest.mark.integration

HAPPENED = "vm.test.thing.happened.v1"
tracer = trace.get_tracer("tests")


def by_id(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {hex_id(s.context.span_id): s for s in spans}


def chain(span: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    """The span and its ancestors, as far as they were recorded."""
    known = by_id(spans)
    found = [span]
    while (parent := parent_id(found[-1])) in known:
        found.append(known[parent])
    return found


async def test_an_event_goes_on_in_its_writers_trace_through_relay_and_broker(
    settings: Settings, clients: Clients
):
    seen: list[str] = []

    async def record(event, session) -> None:
        seen.append(trace_id())

    consumer = make_consumer(settings, clients, {HAPPENED: record})
    await consumer.start()
    outbox = Outbox(clients.db)
    await outbox.ensure_indexes()
    publisher = EventPublisher(clients.broker, settings.events_exchange)
    await publisher.start()
    relay = OutboxRelay(clients.db, publisher, idle_poll_seconds=0.05)

    with tracer.start_as_current_span("the call") as call:

        async def write(session) -> None:
            await outbox.add(session, new_event(HAPPENED, {"n": 1}, source="/test"))

        await clients.transactions.run(write)

    # From here on: the relay's and the consumer's spans only.
    processed = f"{HAPPENED} process"
    with recorded_spans() as spans:
        task = asyncio.create_task(relay.run())
        try:
            await eventually(
                lambda: any(s.name == processed for s in spans.get_finished_spans()),
                what="the event processed",
            )
            await asyncio.sleep(0.3)  # a few idle polls of the relay
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finished = spans.get_finished_spans()
    [process] = [s for s in finished if s.name == processed]
    received, published, *_ = chain(process, finished)[1:]
    assert (received.kind, published.kind) == (SpanKind.CONSUMER, SpanKind.PRODUCER)
    # The publish span's parent is the span current when the event was written (the
    # transaction's, inside the call): one trace from the call to the consumer.
    assert process.context.trace_id == call.get_span_context().trace_id
    assert seen == [hex_id(call.get_span_context().trace_id, 32)]
    assert parent_id(published) != hex_id(call.get_span_context().span_id)  # a child span's
    # The relay's polls and marks (and the consumer's, the transaction aside) made none.
    strays = outside(call.get_span_context().trace_id, finished, settings.amqp_prefix.rstrip("."))
    assert strays == [], "\n".join(strays)


async def test_a_job_a_sweeper_dispatched_goes_on_in_the_trace_that_made_it(
    settings: Settings, clients: Clients
):
    jobs = clients.db["jobs"]
    leases = JobLeases(jobs, ["pending"])
    now = datetime.now(UTC)
    with tracer.start_as_current_span("the call") as call:
        await jobs.insert_one(
            traced_job(
                {
                    "_id": "job-1",
                    "status": "pending",
                    "run_after": now - timedelta(seconds=1),
                    "holder": None,
                    "lease_until": None,
                    "dispatched_at": None,
                }
            )
        )
    ran: list[str] = []

    async def run(job_id: str) -> None:
        ran.append(trace_id())

    queue = WorkQueue(clients.broker, f"{settings.amqp_prefix}test.jobs")
    with recorded_spans() as spans:
        loop = asyncio.create_task(
            take_work(queue, run, leases.due, prefetch=1, lease_seconds=5, sweep_seconds=0.05)
        )
        try:
            await eventually(lambda: bool(ran), what="the job run")
            await asyncio.sleep(0.3)  # a few more sweeps, with nothing due
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        finished = spans.get_finished_spans()

    call_trace = call.get_span_context().trace_id
    assert ran == [hex_id(call_trace, 32)]
    [job] = [s for s in finished if s.name.endswith("test.jobs job")]
    assert job.attributes["job.id"] == "job-1"
    received, dispatched = chain(job, finished)[1:3]
    assert (received.kind, dispatched.kind) == (SpanKind.CONSUMER, SpanKind.PRODUCER)
    assert parent_id(dispatched) == hex_id(call.get_span_context().span_id)
    # The sweeps' own reads made no span: every span is the job's trace's.
    strays = outside(call_trace, finished, settings.amqp_prefix.rstrip("."))
    assert strays == [], "\n".join(strays)
