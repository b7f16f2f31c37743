"""The worker's run of due deliveries: read again at once when used up, else at most once
per `reread_after`; kept earliest first, each delivery once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications.domain.webhooks import PENDING, Delivery
from services.notifications.service.delivering import DueRun

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
NO_SKIP: dict[str, set[str]] = {"skip_endpoints": set(), "skip_ids": set()}


def due(delivery_id: str, endpoint_id: str = "whe_1", *, at: datetime = T0) -> Delivery:
    return Delivery(
        delivery_id, "cmp_a", endpoint_id, f"msg_{delivery_id}", "number.blocked", at, "{}",
        None, PENDING, at, at,
    )  # fmt: skip


def ids(deliveries: list[Delivery]) -> list[str]:
    return [d.id for d in deliveries]


def test_an_empty_run_may_be_read_at_once():
    run = DueRun()
    assert run.may_read(T0, SECOND)
    run.add([], T0)  # a read that found nothing
    assert run.may_read(T0, SECOND)


def test_a_run_is_read_again_once_reread_after_has_passed_or_the_clock_went_back():
    run = DueRun()
    run.add([due("dlv_1")], T0)

    assert not run.may_read(T0, SECOND)
    assert not run.may_read(T0 + SECOND - timedelta(milliseconds=1), SECOND)
    assert run.may_read(T0 + SECOND, SECOND)
    assert run.may_read(T0 - timedelta(milliseconds=1), SECOND)


def test_a_read_merges_into_the_run_each_delivery_once_earliest_first():
    run = DueRun()
    run.add([due("dlv_b", at=T0 + SECOND), due("dlv_c", at=T0 + 2 * SECOND)], T0)
    run.add([due("dlv_a", at=T0), due("dlv_b", at=T0 + SECOND)], T0 + 5 * SECOND)

    assert ids(run.first(10, **NO_SKIP)) == ["dlv_a", "dlv_b", "dlv_c"]
    assert run.read_at == T0 + 5 * SECOND


def test_first_leaves_out_full_endpoints_and_passed_over_deliveries_up_to_the_limit():
    run = DueRun()
    endpoints = ["whe_quiet", "whe_busy"]
    run.add([due(f"dlv_{n}", endpoints[n % 2], at=T0 + n * SECOND) for n in range(8)], T0)

    quiet = run.first(10, skip_endpoints={"whe_busy"}, skip_ids={"dlv_2"})

    assert ids(quiet) == ["dlv_0", "dlv_4", "dlv_6"]
    assert ids(run.first(2, **NO_SKIP)) == ["dlv_0", "dlv_1"]


def test_dropped_deliveries_leave_the_run_and_a_run_used_up_may_be_read_at_once():
    run = DueRun()
    run.add([due("dlv_1"), due("dlv_2")], T0)

    run.drop({"dlv_1", "dlv_unknown"})
    assert ids(run.first(10, **NO_SKIP)) == ["dlv_2"]
    assert not run.may_read(T0, SECOND)
    run.drop({"dlv_2"})
    assert run.may_read(T0, SECOND)
