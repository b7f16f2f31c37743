"""Tickets' rules: a company's appeal to the operator, its categories and their response
times, its history, and who sees it.

Pure and synchronous: the clock is an argument. A ticket keeps the hierarchy path of each of
its numbers; the nodes every path shares (their common prefix, root first) are the ticket's
`scope_nodes`, so "every number of the ticket lies in one of the caller's subtrees" is one
indexed condition: `scope_nodes` contains one of the caller's subtree roots. A ticket about
no number has no such node: only a company-wide permission reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from services.kit.errors import InvalidArgument, NotAllowed
from services.kit.phone import normalize_msisdn
from services.tickets.domain import workflow
from services.tickets.domain.workflow import CLOSED, CUSTOMER, OPEN, WAITING_FOR_CUSTOMER

# category → (title, response-time target: how soon the operator answers)
CATEGORIES: dict[str, tuple[str, timedelta]] = {
    "billing": ("Счета и оплата", timedelta(hours=24)),
    "technical": ("Связь и технические вопросы", timedelta(hours=8)),
    "number_porting": ("Перенос номера", timedelta(hours=72)),
    "contract": ("Договор", timedelta(hours=120)),
    "other": ("Другое", timedelta(hours=48)),
}

SUBJECT_MAX = 200
TEXT_MAX = 5_000
MSISDNS_MAX = 50
QUERY_MAX = 100
ASSIGNEE_MAX = 100

# History entry kinds (API.md).
CREATED = "created"
STATUS_CHANGED = "status_changed"
COMMENT = "comment"
ATTACHMENT = "attachment"

# Actor kinds: the company's side, the operator's desk, the system itself (events).
OPERATOR_ACTOR = "operator"
SYSTEM_ACTOR = "system"

NEWEST_FIRST = "newest"
DUE_FIRST = "due"


@dataclass(frozen=True)
class Actor:
    kind: str  # customer, operator, system
    id: str = ""
    name: str = ""

    @property
    def side(self) -> str:
        """Whose move it is in the workflow: the system acts for the operator."""
        return CUSTOMER if self.kind == CUSTOMER else workflow.OPERATOR


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: Actor
    kind: str
    status: str = ""
    text: str = ""
    attachment_id: str = ""


@dataclass(frozen=True)
class AttachmentInfo:
    id: str
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime
    uploaded_by: Actor


@dataclass(frozen=True)
class Ticket:
    id: str
    company_id: str
    category: str
    subject: str
    status: str
    author: Actor
    created_at: datetime
    due_at: datetime
    updated_at: datetime
    # msisdn → the path of its hierarchy node (root first), in the order given.
    numbers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    author_email: str = ""
    assignee: str = ""
    closed_at: datetime | None = None
    history: tuple[HistoryEntry, ...] = ()
    attachments: tuple[AttachmentInfo, ...] = ()
    settlement_request_id: str = ""
    version: int = 0

    @property
    def msisdns(self) -> tuple[str, ...]:
        return tuple(self.numbers)

    @property
    def scope_nodes(self) -> tuple[str, ...]:
        return common_prefix(list(self.numbers.values()))

    def overdue(self, now: datetime) -> bool:
        return self.status in workflow.AWAITING_OPERATOR and now >= self.due_at

    def attachment(self, attachment_id: str) -> AttachmentInfo | None:
        return next((a for a in self.attachments if a.id == attachment_id), None)

    # --- changes: each returns the changed ticket ---

    def moved_to(self, target: str, actor: Actor, now: datetime, text: str = "") -> Ticket:
        workflow.check_transition(
            self.status, target, actor.side, now=now, closed_at=self.closed_at
        )
        entry = HistoryEntry(now, actor, STATUS_CHANGED, status=target, text=text)
        due_at = self.due_at
        if target == OPEN:  # reopened: the operator's response time starts again
            due_at = now + response_time(self.category)
        return replace(
            self,
            status=target,
            due_at=due_at,
            closed_at=now if target == CLOSED else None,
            history=(*self.history, entry),
            updated_at=now,
        )

    def commented(self, actor: Actor, text: str, now: datetime) -> Ticket:
        """A comment; a customer's answer gives a ticket waiting for it back to the operator."""
        self.require_not_closed("comment on")
        return self.noted(actor, text, now)._answered_by(actor, now)

    def noted(self, actor: Actor, text: str, now: datetime) -> Ticket:
        """A comment whatever the status: the system's record of a decision stays in the
        history even when the customer has closed the ticket meanwhile."""
        entry = HistoryEntry(now, actor, COMMENT, text=text)
        return replace(self, history=(*self.history, entry), updated_at=now)

    def with_attachment(self, info: AttachmentInfo, now: datetime) -> Ticket:
        self.require_not_closed("attach files to")
        entry = HistoryEntry(
            now, info.uploaded_by, ATTACHMENT, text=info.filename, attachment_id=info.id
        )
        changed = replace(
            self,
            attachments=(*self.attachments, info),
            history=(*self.history, entry),
            updated_at=now,
        )
        return changed._answered_by(info.uploaded_by, now)

    def assigned(self, assignee: str, now: datetime) -> Ticket:
        self.require_not_closed("assign")
        return replace(self, assignee=checked_assignee(assignee), updated_at=now)

    def relocated(self, numbers: Mapping[str, Sequence[str]]) -> Ticket:
        """Its numbers at their places now (a number moved, or replaced by another)."""
        return replace(self, numbers={m: tuple(path) for m, path in numbers.items()})

    def _answered_by(self, actor: Actor, now: datetime) -> Ticket:
        if actor.side == CUSTOMER and self.status == WAITING_FOR_CUSTOMER:
            return self.moved_to(workflow.IN_PROGRESS, actor, now)
        return self

    def require_not_closed(self, what: str) -> None:
        if self.status == CLOSED:
            raise NotAllowed(
                f"you cannot {what} a closed ticket; reopen it first", reason="TICKET_CLOSED"
            )


def new_ticket(
    *,
    ticket_id: str,
    company_id: str,
    category: str,
    subject: str,
    text: str,
    numbers: Mapping[str, Sequence[str]],
    author: Actor,
    now: datetime,
    author_email: str = "",
    settlement_request_id: str = "",
) -> Ticket:
    """An open ticket, due by its category's response time; its text is the first entry."""
    return Ticket(
        id=ticket_id,
        company_id=company_id,
        category=category,
        subject=subject,
        status=OPEN,
        author=author,
        author_email=author_email,
        created_at=now,
        due_at=now + response_time(category),
        updated_at=now,
        numbers={msisdn: tuple(path) for msisdn, path in numbers.items()},
        history=(HistoryEntry(now, author, CREATED, status=OPEN, text=text),),
        settlement_request_id=settlement_request_id,
    )


def response_time(category: str) -> timedelta:
    return CATEGORIES[category][1]


def common_prefix(paths: Sequence[Sequence[str]]) -> tuple[str, ...]:
    """The nodes all paths share, root first (the nodes whose subtree holds them all)."""
    if not paths:
        return ()
    shared: list[str] = []
    for nodes in zip(*paths, strict=False):
        if any(node != nodes[0] for node in nodes):
            break
        shared.append(nodes[0])
    return tuple(shared)


def visible_within(ticket: Ticket, nodes: frozenset[str] | None) -> bool:
    """True when a caller whose permission holds at `nodes` (None: company-wide) sees it."""
    return nodes is None or any(node in nodes for node in ticket.scope_nodes)


# --- input ------------------------------------------------------------------------------


def checked_category(raw: str, field_name: str = "category") -> str:
    category = raw.strip()
    if category not in CATEGORIES:
        raise InvalidArgument(
            "the category is not known", {field_name: f"one of {', '.join(CATEGORIES)}"}
        )
    return category


def checked_subject(raw: str) -> str:
    return _checked_text(raw, "subject", SUBJECT_MAX)


def checked_text(raw: str, field_name: str = "text") -> str:
    return _checked_text(raw, field_name, TEXT_MAX)


def optional_text(raw: str, field_name: str = "text") -> str:
    """A reason that may be left out (closing, reopening, a status change)."""
    return checked_text(raw, field_name) if raw.strip() else ""


def checked_assignee(raw: str) -> str:
    return _checked_text(raw, "assignee", ASSIGNEE_MAX)


def _checked_text(raw: str, field_name: str, limit: int) -> str:
    text = raw.strip()
    if not text:
        raise InvalidArgument(f"the {field_name} is empty", {field_name: "write something"})
    if len(text) > limit:
        raise InvalidArgument(
            f"the {field_name} is too long", {field_name: f"at most {limit} characters"}
        )
    return text


def checked_msisdns(raw: Sequence[str]) -> list[str]:
    """Normalised, each once, in the order given."""
    if len(raw) > MSISDNS_MAX:
        raise InvalidArgument(
            "too many numbers for one ticket", {"msisdns": f"at most {MSISDNS_MAX}"}
        )
    found: list[str] = []
    errors: dict[str, str] = {}
    for index, value in enumerate(raw):
        msisdn = normalize_msisdn(value)
        if msisdn is None:
            errors[f"msisdns[{index}]"] = "11 digits starting with 79, e.g. +7 916 123-45-67"
        elif msisdn not in found:
            found.append(msisdn)
    if errors:
        raise InvalidArgument("a number is not a mobile number", errors)
    return found


@dataclass(frozen=True)
class TicketFilter:
    status: str = ""
    category: str = ""
    msisdn: str = ""
    query: str = ""
    overdue: bool | None = None


def checked_filter(
    *,
    status: str = "",
    category: str = "",
    msisdn: str = "",
    query: str = "",
    overdue: bool | None = None,
) -> TicketFilter:
    number = ""
    if msisdn.strip():
        number = normalize_msisdn(msisdn) or ""
        if not number:
            raise InvalidArgument(
                "the number is not a mobile number", {"msisdn": "11 digits starting with 79"}
            )
    text = query.strip()
    if len(text) > QUERY_MAX:
        raise InvalidArgument("the search text is too long", {"q": f"at most {QUERY_MAX}"})
    return TicketFilter(
        status=workflow.checked_status(status) if status.strip() else "",
        category=checked_category(category) if category.strip() else "",
        msisdn=number,
        query=text,
        overdue=overdue,
    )


def checked_order(raw: str) -> str:
    order = raw.strip() or NEWEST_FIRST
    if order not in (NEWEST_FIRST, DUE_FIRST):
        raise InvalidArgument("the order is not known", {"order": f"{NEWEST_FIRST} or {DUE_FIRST}"})
    return order
