"""services/kit/consumer.py: handlers keyed by a topic pattern, and which handler an event
goes to (its exact type first, else a matching pattern)."""

from __future__ import annotations

import pytest

from services.kit.consumer import handler_for, topic_matches


@pytest.mark.parametrize(
    ("pattern", "event_type"),
    [
        ("vm.#", "vm.identity.user.created.v1"),
        ("vm.#", "vm.billing.request.denied.v1"),
        ("#", "vm.catalog.number.moved.v1"),
        ("vm.*.operation.updated.v1", "vm.catalog.operation.updated.v1"),
        ("vm.identity.#", "vm.identity.role.deleted.v1"),
        ("vm.#.v1", "vm.tickets.ticket.created.v1"),
        ("vm.identity.user.created.v1", "vm.identity.user.created.v1"),
    ],
)
def test_patterns_match_as_the_topic_exchange_routes(pattern, event_type):
    assert topic_matches(pattern, event_type)


@pytest.mark.parametrize(
    ("pattern", "event_type"),
    [
        ("vm.#", "other.identity.user.created.v1"),
        ("vm.*.operation.updated.v1", "vm.catalog.number.updated.v1"),
        ("vm.*", "vm.identity.user.created.v1"),
        ("vm.identity.#", "vm.billing.payment.received.v1"),
        ("vm.#.v2", "vm.tickets.ticket.created.v1"),
        ("vm.identity.user.created.v1", "vm.identity.user.created.v2"),
    ],
)
def test_patterns_do_not_match_other_types(pattern, event_type):
    assert not topic_matches(pattern, event_type)


async def exact(event, session) -> None: ...


async def every(event, session) -> None: ...


async def identity_only(event, session) -> None: ...


def test_the_exact_type_wins_over_a_pattern():
    handlers = {"vm.#": every, "vm.identity.user.created.v1": exact}

    assert handler_for(handlers, "vm.identity.user.created.v1") is exact


def test_a_type_without_its_own_handler_goes_to_the_matching_pattern():
    handlers = {"vm.identity.user.created.v1": exact, "vm.#": every}

    assert handler_for(handlers, "vm.billing.payment.received.v1") is every
    assert handler_for(handlers, "vm.identity.request.denied.v1") is every


def test_the_first_matching_pattern_is_taken():
    handlers = {"vm.identity.#": identity_only, "vm.#": every}

    assert handler_for(handlers, "vm.identity.role.created.v1") is identity_only
    assert handler_for(handlers, "vm.catalog.number.moved.v1") is every


def test_no_handler_when_nothing_matches():
    assert handler_for({"vm.identity.#": identity_only}, "vm.catalog.number.moved.v1") is None
    assert handler_for({}, "vm.catalog.number.moved.v1") is None
