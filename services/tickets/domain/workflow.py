"""Tickets' status workflow: which status may follow which, and who may move it.

    open → in_progress → waiting_for_customer → resolved → closed

The operator works the ticket (takes it, asks the customer, resolves it); the customer
answers, withdraws (closes) a ticket at any time, confirms a resolution by closing it,
and reopens a resolved ticket, or a closed one within REOPEN_WINDOW of its closing. A
customer's comment on a ticket that waits for the customer gives it back to the operator.
`TRANSITIONS` is the whole rule: a move not in it is refused, whoever asks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.kit.errors import InvalidArgument, NotAllowed

OPEN = "open"
IN_PROGRESS = "in_progress"
WAITING_FOR_CUSTOMER = "waiting_for_customer"
RESOLVED = "resolved"
CLOSED = "closed"

STATUSES: dict[str, str] = {
    OPEN: "Открыто",
    IN_PROGRESS: "В работе",
    WAITING_FOR_CUSTOMER: "Ожидает ответа клиента",
    RESOLVED: "Решено",
    CLOSED: "Закрыто",
}

CUSTOMER = "customer"
OPERATOR = "operator"
SIDES = (CUSTOMER, OPERATOR)

# (from, to) → the sides that may make the move.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (OPEN, IN_PROGRESS): frozenset({OPERATOR}),
    (OPEN, WAITING_FOR_CUSTOMER): frozenset({OPERATOR}),
    (OPEN, RESOLVED): frozenset({OPERATOR}),
    (OPEN, CLOSED): frozenset({CUSTOMER}),
    (IN_PROGRESS, WAITING_FOR_CUSTOMER): frozenset({OPERATOR}),
    (IN_PROGRESS, RESOLVED): frozenset({OPERATOR}),
    (IN_PROGRESS, CLOSED): frozenset({CUSTOMER}),
    (WAITING_FOR_CUSTOMER, IN_PROGRESS): frozenset({CUSTOMER, OPERATOR}),
    (WAITING_FOR_CUSTOMER, RESOLVED): frozenset({OPERATOR}),
    (WAITING_FOR_CUSTOMER, CLOSED): frozenset({CUSTOMER}),
    (RESOLVED, OPEN): frozenset({CUSTOMER}),
    (RESOLVED, IN_PROGRESS): frozenset({OPERATOR}),
    (RESOLVED, CLOSED): frozenset({CUSTOMER, OPERATOR}),
    (CLOSED, OPEN): frozenset({CUSTOMER}),
}

# A closed ticket may be reopened by the customer for this long after its closing.
REOPEN_WINDOW = timedelta(days=14)
# While in these statuses the ticket waits for the operator: its due time runs.
AWAITING_OPERATOR = frozenset({OPEN, IN_PROGRESS})


def checked_status(raw: str, field_name: str = "status") -> str:
    status = raw.strip()
    if status not in STATUSES:
        raise InvalidArgument(
            "the status is not known", {field_name: f"one of {', '.join(STATUSES)}"}
        )
    return status


def allowed_moves(status: str, side: str) -> list[str]:
    """The statuses `side` may move a ticket in `status` to (for the console's buttons)."""
    return [to for (since, to), sides in TRANSITIONS.items() if since == status and side in sides]


def check_transition(
    current: str,
    target: str,
    side: str,
    *,
    now: datetime,
    closed_at: datetime | None = None,
) -> None:
    """Raise NotAllowed unless `side` may move a ticket from `current` to `target` now."""
    if current == target:
        raise NotAllowed(f"the ticket is {current} already", reason="TICKET_STATUS_UNCHANGED")
    sides = TRANSITIONS.get((current, target))
    if sides is None or side not in sides:
        who = "the customer" if side == CUSTOMER else "the operator"
        raise NotAllowed(
            f"{who} cannot move a ticket from {current} to {target}",
            reason="TRANSITION_NOT_ALLOWED",
        )
    if current == CLOSED and not within_reopen_window(closed_at, now):
        raise NotAllowed(
            f"a closed ticket can be reopened for {REOPEN_WINDOW.days} days after its closing",
            reason="REOPEN_PERIOD_OVER",
        )


def within_reopen_window(closed_at: datetime | None, now: datetime) -> bool:
    return closed_at is not None and now < closed_at + REOPEN_WINDOW


def reopen_until(closed_at: datetime | None) -> datetime | None:
    return closed_at + REOPEN_WINDOW if closed_at is not None else None
