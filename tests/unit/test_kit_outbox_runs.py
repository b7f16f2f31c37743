"""services/kit/outbox.py and events.py: which events share a message (a CloudEvents
batch), and that a batch reads back as the events written."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kit.events import decode_batch, encode_batch, new_event
from services.kit.outbox import MOST_EVENTS_PER_MESSAGE, runs_of_one_type
from services.kit.tracing import within

TYPES = ["vm.test.thing.happened.v1", "vm.test.thing.noted.v1"]
TRACES = [
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
]


def made(kinds: list[tuple[int, int]]):
    events = []
    for type_index, trace_index in kinds:
        with within(TRACES[trace_index]):
            events.append(new_event(TYPES[type_index], {"n": len(events)}, source="/test"))
    return events


@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), max_size=60))
def test_runs_keep_the_order_and_hold_one_type_and_one_trace_each(kinds):
    events = made(kinds)

    runs = runs_of_one_type(events)

    assert [e for run in runs for e in run] == events
    for run in runs:
        assert len({(e.type, e.traceparent) for e in run}) == 1
    for before, after in itertools.pairwise(runs):  # runs are as long as they can be
        assert (before[0].type, before[0].traceparent) != (after[0].type, after[0].traceparent)


def test_a_long_run_is_cut_at_the_most_events_a_message_carries():
    events = made([(0, 0)] * (MOST_EVENTS_PER_MESSAGE * 2 + 1))

    assert [len(run) for run in runs_of_one_type(events)] == [
        MOST_EVENTS_PER_MESSAGE,
        MOST_EVENTS_PER_MESSAGE,
        1,
    ]


def test_a_batch_reads_back_as_its_events():
    events = made([(0, 0), (0, 0), (0, 0)])

    body = encode_batch(events)

    assert [item["id"] for item in json.loads(body)] == [e.id for e in events]
    assert decode_batch(body) == events


@pytest.mark.parametrize("body", [b"[]", b"{}", b'[{"type": "vm.a.b.c.v1"}]', b"not json"])
def test_what_is_not_a_batch_of_cloud_events_is_refused(body):
    with pytest.raises(ValueError, match="not a CloudEvents batch"):
        decode_batch(body)
