"""The worker's run of due deliveries: what a pass read serves the passes after it until
it is used up or older than `reread_after`, earliest first, each delivery once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notifications.domain.webhooks import PENDING, Delivery
from services.notifications.service.delivering import DueRun

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def due(delivery_id: str, endpoint_id: str = "whe_1", *, at: datetime = T0) -> Delivery:
    return Delivery(
        delivery_id, "cmp_a", endpoint_id, f"msg_{delivery_id}", "number.blocked", at, "{}",
        None, PENDING, at, at,
    )  # fmt: skip


def test_an_empty_run_is_read_afresh_whatever_its_age():
    assert DueRun().stale(T0, SECOND)
    assert DueRun(read_at=T0).stale(T0, SECOND)


def test_a_run_serves_until_it_is_older_than_reread_after_or_the_clock_went_back():
    run = DueRun(read_at=T0)
    run.add([due("dlv_1")])

    assert not run.stale(T0, SECOND)
    assert not run.stale(T0 + SECOND, SECOND)
    assert run.stale(T0 + SECOND + timedelta(milliseconds=1), SECOND)
    assert run.stale(T0 - timedelta(milliseconds=1), SECOND)


def test_a_run_keeps_each_delivery_once_earliest_first():
    run = DueRun(read_at=T0)
    run.add([due("dlv_b", at=T0 + SECOND), due("dlv_c", at=T0 + 2 * SECOND)])
    run.add([due("dlv_a", at=T0), due("dlv_b", at=T0 + SECOND)])

    chosen = run.first(10, skip_endpoints=set(), skip_ids=set())

    assert [d.id for d in chosen] == ["dlv_a", "dlv_b", "dlv_c"]


def test_first_leaves_out_full_endpoints_and_passed_over_deliveries_up_to_the_limit():
    run = DueRun(read_at=T0)
    endpoints = ["whe_quiet", "whe_busy"]
    run.add([due(f"dlv_{n}", endpoints[n % 2], at=T0 + n * SECOND) for n in range(8)])

    quiet = run.first(10, skip_endpoints={"whe_busy"}, skip_ids={"dlv_2"})
    two = run.first(2, skip_endpoints=set(), skip_ids=set())

    assert [d.id for d in quiet] == ["dlv_0", "dlv_4", "dlv_6"]
    assert [d.id for d in two] == ["dlv_0", "dlv_1"]


def test_dropped_deliveries_leave_the_run_and_a_run_used_up_is_stale():
    run = DueRun(read_at=T0)
    run.add([due("dlv_1"), due("dlv_2")])

    run.drop({"dlv_1", "dlv_unknown"})
    assert [d.id for d in run.first(10, skip_endpoints=set(), skip_ids=set())] == ["dlv_2"]
    run.drop({"dlv_2"})
    assert run.stale(T0, SECOND)
