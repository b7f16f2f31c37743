"""tests/support/tracing.py: a stray span of this test's namespace (or of none) is counted;
one whose trace names only another test's namespace (a task an earlier test left running)
is not, even a span that itself names nothing (a transaction in another test's batch)."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, Tracer

from tests.support.tracing import outside

MINE, OTHERS = "t0a1b2c3d", "tdeadbeef"


def a_call() -> tuple[InMemorySpanExporter, Tracer, Span]:
    """A tracer whose spans are kept, and the span of the call a test looks at."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("tests")
    with tracer.start_as_current_span("the call") as call:
        pass
    return exporter, tracer, call


def test_only_spans_of_other_tests_namespaces_are_left_out():
    exporter, tracer, call = a_call()
    for name, attributes in [
        ("mine", {"db.name": f"{MINE}_test"}),
        ("others", {"db.name": f"{OTHERS}_test"}),
        ("both", {"messaging.destination": f"{OTHERS}.jobs", "db.name": f"{MINE}_x"}),
        ("none", {}),
    ]:
        with tracer.start_as_current_span(name, attributes=attributes):
            pass
    strays = outside(call.get_span_context().trace_id, exporter.get_finished_spans(), MINE)
    assert [stray.split()[0] for stray in strays] == ["mine", "both", "none"]


def test_a_span_naming_nothing_goes_with_the_rest_of_its_trace():
    exporter, tracer, call = a_call()
    for queue in (f"{OTHERS}.identity.events", f"{MINE}.identity.events"):
        batch = {"messaging.destination.name": queue}
        with (
            tracer.start_as_current_span(f"{queue} process", attributes=batch),
            tracer.start_as_current_span("mongodb transaction"),
        ):
            pass
    with tracer.start_as_current_span("mongodb transaction"):  # a trace naming nothing
        pass
    strays = outside(call.get_span_context().trace_id, exporter.get_finished_spans(), MINE)
    assert [stray.split()[0] for stray in strays] == [
        "mongodb",
        f"{MINE}.identity.events",
        "mongodb",
    ]


def test_a_span_under_one_opened_before_the_test_looked_is_left_out():
    exporter, tracer, call = a_call()
    with tracer.start_as_current_span("another test's batch, still open"):
        exporter.clear()  # the test starts looking now
        with tracer.start_as_current_span("mongodb transaction"):
            pass
        strays = outside(call.get_span_context().trace_id, exporter.get_finished_spans(), MINE)
    assert strays == []
    with tracer.start_as_current_span("mongodb transaction"):  # a root: work of the test's time
        pass
    strays = outside(call.get_span_context().trace_id, exporter.get_finished_spans(), MINE)
    # Ended, the batch is seen: its trace is one the test watched begin and end.
    assert [stray.split()[0] for stray in strays] == ["mongodb", "another", "mongodb"]
