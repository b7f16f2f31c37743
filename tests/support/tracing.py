"""The spans this test process ends, kept in memory while a test looks (the process's own
tracer provider, services/kit/tracing.py, with an in-memory exporter beside its own)."""

from __future__ import annotations

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


def parent_id(span: ReadableSpan) -> str | None:
    return hex_id(span.parent.span_id) if span.parent else None
