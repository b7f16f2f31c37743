"""The spans this test process ends, kept in memory while a test looks (the process's own
tracer provider, services/kit/tracing.py, with an in-memory exporter beside its own)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.kit.tracing import configure_tracing


class _WhileRecording(SimpleSpanProcessor):
    """Exports only while a test records, so that no other test's spans pile up."""

    recording = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.recording:
            super().on_end(span)


_processor: _WhileRecording | None = None


@contextmanager
def recorded_spans() -> Iterator[InMemorySpanExporter]:
    """The spans that end in this process from now until the block is left."""
    global _processor
    if _processor is None:
        _processor = _WhileRecording(InMemorySpanExporter())
        configure_tracing("tests").add_span_processor(_processor)
    exporter = _processor.span_exporter
    assert isinstance(exporter, InMemorySpanExporter)
    exporter.clear()
    _processor.recording = True
    try:
        yield exporter
    finally:
        _processor.recording = False
        exporter.clear()


def hex_id(value: int, digits: int = 16) -> str:
    return format(value, f"0{digits}x")


# A test's namespace (tests/support/servers.py) as its databases, queues and exchanges
# carry it: `t` and eight hex digits, then `_` or `.`.
NAMESPACE = re.compile(r"\bt[0-9a-f]{8}(?=[_.])")


def outside(trace_id: int, spans: tuple[ReadableSpan, ...], namespace: str) -> list[str]:
    """The spans of any other trace, named with their attributes, so that a failing test
    says where a stray span came from. A stray trace whose spans name only other tests'
    namespaces is left out (printed, not returned): it comes from a task an earlier test
    left running in this process, not from what this test looks at; so is one that names
    nothing of this test and hangs under a span opened before the test looked and still
    open after it. A span is judged with the rest of its trace, so that a span naming
    nothing (a transaction) goes with the batch or the call it ran in."""
    by_trace: dict[int, list[ReadableSpan]] = {}
    for each in spans:
        if each.context.trace_id != trace_id:
            by_trace.setdefault(each.context.trace_id, []).append(each)
    recorded = {each.context.span_id for each in spans}
    strays: list[str] = []
    for trace_spans in by_trace.values():
        described = [_described(each) for each in trace_spans]
        named = set(NAMESPACE.findall(" ".join(described)))
        # Another test's: it names other tests' namespaces only, or hangs under a span
        # opened before this test looked; either way it names nothing of this test.
        if namespace not in named and (named or _began_before(trace_spans, recorded)):
            for stray in described:
                print(f"a span of another test's, left out: {stray}")
            continue
        strays += described
    return strays


def _described(span: ReadableSpan) -> str:
    return (
        f"{span.name} {dict(span.attributes or {})} parent={parent_id(span)} "
        f"trace={hex_id(span.context.trace_id, 32)}"
    )


def _began_before(trace_spans: list[ReadableSpan], recorded: set[int]) -> bool:
    """Whether the trace's top spans seen all have a parent that was never seen: a span
    opened before the test looked and still open after it (another test's batch retrying
    its transaction), not work the test started."""
    tops = [
        each for each in trace_spans if each.parent is None or each.parent.span_id not in recorded
    ]
    return all(each.parent is not None for each in tops)


def parent_id(span: ReadableSpan) -> str | None:
    return hex_id(span.parent.span_id) if span.parent else None
