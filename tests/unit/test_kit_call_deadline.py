"""services/kit/grpc_client.py: a call made while serving another gets no more time than
is left of that call's deadline (call_deadline_var, set by the server's interceptor)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.kit.context import call_deadline_var
from services.kit.grpc_client import within_call_deadline


@pytest.fixture
def serving_with(request):
    """Runs the test as inside a call whose work must end `left` seconds from now."""

    def set_left(left: float) -> None:
        token = call_deadline_var.set(time.monotonic() + left)
        request.addfinalizer(lambda: call_deadline_var.reset(token))

    return set_left


@pytest.mark.parametrize("timeout", [None, 0.5, 30.0])
def test_outside_a_call_the_timeout_is_kept(timeout):
    assert within_call_deadline(timeout) == timeout


def test_a_longer_timeout_is_cut_to_the_time_left(serving_with):
    serving_with(2.0)
    assert 1.9 < within_call_deadline(30.0) <= 2.0
    assert 1.9 < within_call_deadline(None) <= 2.0


def test_a_shorter_timeout_is_kept(serving_with):
    serving_with(2.0)
    assert within_call_deadline(0.5) == 0.5


def test_a_spent_deadline_gives_a_tiny_timeout_not_none(serving_with):
    serving_with(-1.0)
    assert within_call_deadline(None) == 0.001
    assert within_call_deadline(30.0) == 0.001


@given(left=st.floats(-10, 100), timeout=st.none() | st.floats(0.001, 100))
def test_never_more_than_asked_nor_than_left(left, timeout):
    token = call_deadline_var.set(time.monotonic() + left)
    try:
        cut = within_call_deadline(timeout)
    finally:
        call_deadline_var.reset(token)
    assert cut is not None and cut > 0
    assert cut <= max(left, 0.001)
    if timeout is not None:
        assert cut <= timeout
