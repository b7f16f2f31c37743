"""Traces: one OpenTelemetry tracer provider per process and the official instrumentations
of everything a request passes through (FastAPI, gRPC aio client and server, PyMongo,
aio-pika), so that one trace runs from a REST call through the services, their
transactions, the outbox relay and RabbitMQ into every consumer and worker it wakes.

`configure_tracing(name)` runs once, first thing in a process: the instrumentations wrap
the constructors (`grpc.aio.server`, `grpc.aio.insecure_channel`) and the driver's command
listeners, so they must be in place before any server, channel or client is made. Spans
go out over OTLP/HTTP only when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; without it nothing is exported, and a span
is still made (and dropped at its end) for the trace ids of the logs and the context each
call and event carries on. Every other knob is the SDK's own environment variable
(`OTEL_TRACES_SAMPLER`, `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_EXPORTER_OTLP_HEADERS`,
`OTEL_RESOURCE_ATTRIBUTES`, ...); `OTEL_SDK_DISABLED=true` turns spans off altogether.

An event carries its producer's context in the CloudEvents distributed tracing extension
(`traceparent`): `new_event` takes it from the current span, the relay publishes each
event within it, and the consumer continues it with a span per event, as the work queue
does with a span per job.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link, NonRecordingSpan, Span, SpanContext, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_tracer = trace.get_tracer("services.kit")
# The CloudEvents extension is W3C Trace Context, whatever OTEL_PROPAGATORS says for calls.
_W3C = TraceContextTextMapPropagator()
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
# Probes and scrapes are not requests anyone traces.
GATEWAY_UNTRACED_URLS = "/healthz,/readyz,/metrics"

_provider: TracerProvider | None = None


def configure_tracing(service: str) -> TracerProvider:
    """The process's tracer provider, named `service` (service.name), with the
    instrumentations on; made once, later calls return the same provider."""
    global _provider
    if _provider is not None:
        return _provider
    # service.name is the process's own (over OTEL_SERVICE_NAME); the SDK gives each
    # process a service.instance.id, and OTEL_RESOURCE_ATTRIBUTES adds what a deployment
    # wants (deployment.environment, ...).
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    if any(os.environ.get(name) for name in _ENDPOINTS):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _instrument(provider)
    _provider = provider
    return provider


def _instrument(provider: TracerProvider) -> None:
    from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorClient,
        GrpcAioInstrumentorServer,
        filters,
    )
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor

    # Health checks (probes, readiness polls) would be a trace each, every second.
    calls = filters.negate(filters.health_check())
    GrpcAioInstrumentorServer(filter_=calls).instrument(tracer_provider=provider)
    GrpcAioInstrumentorClient(filter_=calls).instrument(tracer_provider=provider)
    PymongoInstrumentor().instrument(tracer_provider=provider)
    AioPikaInstrumentor().instrument(tracer_provider=provider)


def instrument_fastapi(app: object) -> None:
    """The gateway's server spans: one per request (incoming `traceparent` continued),
    outermost, so that every middleware and the access log run inside it."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,  # type: ignore[arg-type]
        tracer_provider=_provider,
        excluded_urls=GATEWAY_UNTRACED_URLS,
        exclude_spans=["receive", "send"],
    )


def current_traceparent() -> str | None:
    """The current span as a W3C `traceparent`, for an event's extension; None outside."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get("traceparent")


def context_of(traceparent: str | None) -> Context:
    """A context whose parent is `traceparent` (an empty one for None or a malformed one).
    Built from nothing, so a background loop's suppression does not reach it."""
    if not traceparent:
        return Context()
    return _W3C.extract({"traceparent": traceparent}, context=Context())


@contextmanager
def within(traceparent: str | None) -> Iterator[None]:
    """Run in the context `traceparent` names (the relay publishes each event in its own)."""
    token = otel_context.attach(context_of(traceparent))
    try:
        yield
    finally:
        otel_context.detach(token)


@contextmanager
def untraced() -> Iterator[None]:
    """For a background loop's own reads and writes (a relay's poll, a sweep, a health
    ping): no span for them, or each pass would be a trace of its own."""
    with suppress_instrumentation():
        yield


@contextmanager
def consuming(
    name: str,
    traceparent: str | None,
    attributes: Mapping[str, str],
    *,
    delivery: SpanContext | None = None,
) -> Iterator[Span]:
    """A span for one consumed event or job, in its producer's trace: a child of the
    delivery's span (the broker instrumentation's, from the message's headers) when that
    is in the producer's trace, as it is for whatever the relay published; else a child
    of the producer's `traceparent` itself, linked to the delivery's span. The delivery's
    span is the current one, unless given (work done after the delivery's callback: a
    consumer's batch)."""
    parent: Context | None = None
    if delivery is None:
        delivery = trace.get_current_span().get_span_context()
    else:
        parent = trace.set_span_in_context(NonRecordingSpan(delivery), Context())
    producer = trace.get_current_span(context_of(traceparent)).get_span_context()
    if delivery.is_valid and (not producer.is_valid or producer.trace_id == delivery.trace_id):
        kind, links = SpanKind.INTERNAL, []
    else:
        parent, kind = context_of(traceparent), SpanKind.CONSUMER
        links = [Link(delivery)] if delivery.is_valid else []
    with _tracer.start_as_current_span(
        name, context=parent, kind=kind, attributes=dict(attributes), links=links
    ) as current:
        yield current


@contextmanager
def span(
    name: str,
    attributes: Mapping[str, str | int] | None = None,
    links: Sequence[SpanContext] = (),
) -> Iterator[Span]:
    """A span of our own around a piece of work (a transaction, a batch of events), linked
    to the spans it works for when they are of other traces."""
    with _tracer.start_as_current_span(
        name,
        attributes=dict(attributes or {}),
        links=[Link(each) for each in links if each.is_valid],
    ) as current:
        yield current
