"""A number of a bulk operation that already is as asked is `unchanged`, not a failure,
and an operation whose numbers all succeeded or were unchanged has succeeded."""

from __future__ import annotations

import pytest

from services.catalog.domain import bulk
from services.catalog.domain.numbers import Block
from services.catalog.service import decisions
from services.catalog.service.bulk_runner import _decided
from services.catalog.service.decisions import Loaded
from services.kit import operation_status
from tests.unit.test_catalog_operations import (
    CATALOGUE,
    INTERNET,
    MSISDN,
    NOW,
    a_number,
    connected,
)


@pytest.mark.parametrize(
    "reason",
    [
        "ALREADY_BLOCKED",
        "NOT_BLOCKED",
        "ALREADY_CONNECTED",
        "NOT_CONNECTED",
        "FORWARDING_NOT_SET",
        "LIMIT_NOT_SET",
    ],
)
def test_a_refusal_that_says_it_already_is_so_is_unchanged(reason):
    result = bulk.refusal_result(MSISDN, reason, "уже")
    assert (result.status, result.code, result.detail) == ("unchanged", reason.lower(), "уже")


@pytest.mark.parametrize(
    "reason", ["SYSTEM_BLOCK", "SERVICE_EXCLUDED", "PROVISIONING_FAILED", "NOT_FOUND"]
)
def test_any_other_refusal_is_a_failure(reason):
    result = bulk.refusal_result(MSISDN, reason, "нет")
    assert (result.status, result.code) == ("failed", reason.lower())


def loaded(**changes) -> Loaded:
    return Loaded(a_number(**changes), CATALOGUE, session=None)  # type: ignore[arg-type]


async def test_blocking_a_blocked_number_is_unchanged():
    outcome = await _decided(
        decisions.block_setting("voluntary", NOW),
        loaded(blocks=(Block("voluntary", NOW),), status="blocked"),
    )
    assert isinstance(outcome, bulk.TargetResult)
    assert (outcome.status, outcome.code) == ("unchanged", "already_blocked")


async def test_unblocking_connecting_and_disconnecting_what_already_is_so_is_unchanged():
    cases = [
        (decisions.block_removal("voluntary"), loaded(), "not_blocked"),
        (
            decisions.service_connection("internet", NOW),
            loaded(services=connected(INTERNET)),
            "already_connected",
        ),
        (decisions.service_disconnection("internet"), loaded(), "not_connected"),
        (decisions.forwarding_removal("busy"), loaded(), "forwarding_not_set"),
    ]
    for decide, number, code in cases:
        outcome = await _decided(decide, number)
        assert isinstance(outcome, bulk.TargetResult), code
        assert (outcome.status, outcome.code) == ("unchanged", code)


async def test_the_same_tariff_is_unchanged_and_a_real_change_is_a_decision():
    number = loaded()
    same = await _decided(
        decisions.tariff_change(number.number.tariff.id, dict(number.number.tariff.settings)),
        number,
    )
    assert isinstance(same, bulk.TargetResult)
    assert (same.status, same.code) == ("unchanged", "unchanged")
    blocked = await _decided(decisions.block_setting("voluntary", NOW), loaded())
    assert isinstance(blocked, decisions.Decision)


def test_unchanged_is_a_result_status_and_no_failure():
    assert "unchanged" in operation_status.RESULT_STATUSES
    operation_status.check_result_filter("unchanged")  # a filter the journal takes
    assert "unchanged" not in operation_status.STATUSES  # an operation is never unchanged
    # 5 decided, all unchanged or succeeded (none failed): the operation succeeded
    assert operation_status.final_status(5, 0, cancelled=False) == "succeeded"
