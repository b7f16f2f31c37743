"""The statuses every service's operations share: how one ends, what may be cancelled,
which filters are valid."""

from __future__ import annotations

import pytest

from services.kit import operation_status as status_rules
from services.kit.errors import InvalidArgument, NotAllowed


@pytest.mark.parametrize(
    ("decided", "failed", "cancelled", "status"),
    [
        (10, 0, False, "succeeded"),
        (0, 0, False, "succeeded"),
        (10, 10, False, "failed"),
        (10, 3, False, "partially_failed"),
        (4, 1, True, "cancelled"),
        (4, 0, True, "cancelled"),
    ],
)
def test_how_an_operation_ends(decided, failed, cancelled, status):
    assert status_rules.final_status(decided, failed, cancelled=cancelled) == status


def test_only_an_unfinished_operation_is_cancelled():
    for status in status_rules.UNFINISHED:
        status_rules.check_cancellable(status)
    for status in status_rules.FINISHED:
        with pytest.raises(NotAllowed) as refused:
            status_rules.check_cancellable(status)
        assert refused.value.reason == "OPERATION_FINISHED"


def test_every_status_is_unfinished_or_finished_never_both():
    assert set(status_rules.UNFINISHED) | status_rules.FINISHED == set(status_rules.STATUSES)
    assert not set(status_rules.UNFINISHED) & status_rules.FINISHED


def test_filters_name_the_statuses_they_accept():
    assert status_rules.status_filter_errors("") == {}
    assert status_rules.status_filter_errors("running") == {}
    assert "partially_failed" in status_rules.status_filter_errors("done")["status"]
    status_rules.check_result_filter("cancelled")
    with pytest.raises(InvalidArgument):
        status_rules.check_result_filter("partially_failed")  # not a target's status


def test_each_status_has_its_value_in_the_operation_message():
    for name in status_rules.STATUSES:
        assert status_rules.status_name(status_rules.STATUS_VALUES[name]) == name
    assert status_rules.STATUS_VALUES["partially_failed"] == 5  # OPERATION_STATUS_PARTIALLY_FAILED
    assert status_rules.status_name(0) == "pending"  # unspecified
