"""The tickets' workflow: every move in the table by the side allowed to make it, every
other move refused for both sides, the reopen period, due times per category, overdue."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.kit.errors import InvalidArgument, NotAllowed
from services.tickets.domain import workflow
from services.tickets.domain.tickets import (
    CATEGORIES,
    COMMENT,
    CREATED,
    STATUS_CHANGED,
    Actor,
    new_ticket,
)
from services.tickets.domain.workflow import (
    CLOSED,
    CUSTOMER,
    IN_PROGRESS,
    OPEN,
    OPERATOR,
    REOPEN_WINDOW,
    RESOLVED,
    SIDES,
    STATUSES,
    TRANSITIONS,
    WAITING_FOR_CUSTOMER,
    check_transition,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CUSTOMER_ACTOR = Actor(CUSTOMER, "usr_1", "Иванов И.И.")
DESK = Actor("operator", "petrova", "Петрова")
EVERY_MOVE = [(a, b, side) for a in STATUSES for b in STATUSES if a != b for side in SIDES]


def ticket(category: str = "technical", status: str = OPEN, **changes: object):
    made = new_ticket(
        ticket_id="tkt_1",
        company_id="cmp_1",
        category=category,
        subject="Нет связи",
        text="С утра нет связи на номере",
        numbers={"79161000001": ("root", "msk")},
        author=CUSTOMER_ACTOR,
        now=NOW,
    )
    route = {
        OPEN: [],
        IN_PROGRESS: [(IN_PROGRESS, DESK)],
        WAITING_FOR_CUSTOMER: [(WAITING_FOR_CUSTOMER, DESK)],
        RESOLVED: [(RESOLVED, DESK)],
        CLOSED: [(RESOLVED, DESK), (CLOSED, CUSTOMER_ACTOR)],
    }[status]
    for target, actor in route:
        made = made.moved_to(target, actor, NOW)
    return made


@pytest.mark.parametrize(("since", "to", "side"), EVERY_MOVE)
def test_a_move_is_allowed_exactly_when_the_table_names_its_side(since, to, side):
    allowed = side in TRANSITIONS.get((since, to), frozenset())
    closed_at = NOW if since == CLOSED else None
    if allowed:
        check_transition(since, to, side, now=NOW, closed_at=closed_at)
    else:
        with pytest.raises(NotAllowed) as refused:
            check_transition(since, to, side, now=NOW, closed_at=closed_at)
        assert refused.value.reason == "TRANSITION_NOT_ALLOWED"


def test_the_table_is_the_workflow_of_the_contract():
    # The forward path open → in_progress → waiting → resolved → closed exists, step by step.
    path = [OPEN, IN_PROGRESS, WAITING_FOR_CUSTOMER, RESOLVED, CLOSED]
    assert all((a, b) in TRANSITIONS for a, b in itertools.pairwise(path))
    # Only the operator works a ticket; only the customer withdraws or reopens it.
    assert TRANSITIONS[(OPEN, IN_PROGRESS)] == {OPERATOR}
    assert TRANSITIONS[(IN_PROGRESS, RESOLVED)] == {OPERATOR}
    assert TRANSITIONS[(CLOSED, OPEN)] == {CUSTOMER}
    assert all(CUSTOMER in TRANSITIONS[(s, CLOSED)] for s in (OPEN, IN_PROGRESS, RESOLVED))
    # Nothing leaves `closed` but a reopen.
    assert [to for (since, to) in TRANSITIONS if since == CLOSED] == [OPEN]


def test_the_same_status_again_is_refused_as_unchanged():
    with pytest.raises(NotAllowed) as refused:
        check_transition(OPEN, OPEN, OPERATOR, now=NOW)
    assert refused.value.reason == "TICKET_STATUS_UNCHANGED"


def test_a_closed_ticket_reopens_only_within_the_period():
    closed_at = NOW - REOPEN_WINDOW + timedelta(seconds=1)
    check_transition(CLOSED, OPEN, CUSTOMER, now=NOW, closed_at=closed_at)
    with pytest.raises(NotAllowed) as refused:
        check_transition(CLOSED, OPEN, CUSTOMER, now=NOW, closed_at=NOW - REOPEN_WINDOW)
    assert refused.value.reason == "REOPEN_PERIOD_OVER"
    assert workflow.reopen_until(NOW) == NOW + REOPEN_WINDOW


def test_reopening_a_closed_ticket_clears_its_closing_and_restarts_its_due_time():
    closed = ticket(status=CLOSED)
    assert closed.closed_at == NOW
    later = NOW + timedelta(days=3)
    reopened = closed.moved_to(OPEN, CUSTOMER_ACTOR, later, "Проблема вернулась")
    assert reopened.status == OPEN and reopened.closed_at is None
    assert reopened.due_at == later + CATEGORIES["technical"][1]
    assert reopened.history[-1].kind == STATUS_CHANGED
    assert reopened.history[-1].text == "Проблема вернулась"
    too_late = NOW + REOPEN_WINDOW
    with pytest.raises(NotAllowed):
        closed.moved_to(OPEN, CUSTOMER_ACTOR, too_late)


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_each_category_has_its_response_time(category):
    made = ticket(category)
    assert made.due_at == NOW + CATEGORIES[category][1]
    assert made.history[0].kind == CREATED and made.history[0].status == OPEN


def test_due_times_differ_by_category():
    assert CATEGORIES["technical"][1] < CATEGORIES["billing"][1] < CATEGORIES["contract"][1]


def test_overdue_only_while_it_waits_for_the_operator():
    made = ticket("technical")
    due = made.due_at
    assert not made.overdue(due - timedelta(seconds=1))
    assert made.overdue(due)
    assert ticket(status=IN_PROGRESS).overdue(due)
    for status in (WAITING_FOR_CUSTOMER, RESOLVED, CLOSED):
        assert not ticket(status=status).overdue(due + timedelta(days=30))


def test_a_customers_answer_gives_a_waiting_ticket_back_to_the_operator():
    waiting = ticket(status=WAITING_FOR_CUSTOMER)
    answered = waiting.commented(CUSTOMER_ACTOR, "Номер 79161000001, с 9 утра", NOW)
    assert answered.status == IN_PROGRESS
    assert [e.kind for e in answered.history[-2:]] == [COMMENT, STATUS_CHANGED]
    # the operator's own comment leaves the status as it is
    assert waiting.commented(DESK, "Ждём ответа", NOW).status == WAITING_FOR_CUSTOMER


def test_a_closed_ticket_takes_no_comment():
    with pytest.raises(NotAllowed) as refused:
        ticket(status=CLOSED).commented(CUSTOMER_ACTOR, "ещё", NOW)
    assert refused.value.reason == "TICKET_CLOSED"


def test_an_unknown_status_is_bad_input():
    with pytest.raises(InvalidArgument) as refused:
        workflow.checked_status("done")
    assert "status" in refused.value.fields
