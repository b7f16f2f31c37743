"""Notices to the company's people: which public event is which kind of notice, who is to
be told, and on which channels each person chose to hear of it.

- The kinds are the checkboxes of «Мои настройки»: financial block (and its lifting),
  balance below the threshold, promised payment due, limit reached, operation finished,
  document or report ready, ticket answered.
- Money matters go to those who see the money: holders of finance.view for the whole
  company; a number's limit also to those who set limits (numbers.limits company-wide: a
  notice does not wait for the number's place in the hierarchy). An operation, a file and a
  ticket concern one person: who started the operation, ordered the file, wrote the ticket.
- A person who never chose hears of every kind by e-mail and of none by SMS.

Pure: nothing here reads a store, a clock or the network.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from services.kit.errors import InvalidArgument
from services.kit.events import Event

FINANCIAL_BLOCK = "financial_block"
BALANCE_LOW = "balance_low"
PROMISED_PAYMENT_DUE = "promised_payment_due"
LIMIT_REACHED = "limit_reached"
OPERATION_FINISHED = "operation_finished"
FILE_READY = "file_ready"
TICKET_ANSWERED = "ticket_answered"
KINDS: tuple[str, ...] = (
    FINANCIAL_BLOCK,
    BALANCE_LOW,
    PROMISED_PAYMENT_DUE,
    LIMIT_REACHED,
    OPERATION_FINISHED,
    FILE_READY,
    TICKET_ANSWERED,
)

EMAIL = "email"
SMS = "sms"
CHANNELS: tuple[str, ...] = (EMAIL, SMS)

FINANCE_VIEW = "finance.view"
NUMBERS_LIMITS = "numbers.limits"

# The public type each kind comes from (both ends of a financial block are one kind).
KIND_OF_PUBLIC_TYPE: Mapping[str, str] = {
    "account.balance_exhausted": FINANCIAL_BLOCK,
    "account.balance_restored": FINANCIAL_BLOCK,
    "account.balance_low": BALANCE_LOW,
    "promised_payment.due": PROMISED_PAYMENT_DUE,
    "limit.reached": LIMIT_REACHED,
    "operation.finished": OPERATION_FINISHED,
    "file.ready": FILE_READY,
    "ticket.status_changed": TICKET_ANSWERED,
}
# The ticket's status after the operator answered: it waits for the customer now
# (services/tickets/domain/workflow.py, WAITING_FOR_CUSTOMER).
ANSWERED_STATUSES = frozenset({"waiting_for_customer"})


@dataclass(frozen=True)
class Choice:
    """The channels a user chose for one kind."""

    kind: str
    email: bool = True
    sms: bool = False

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c for c, on in ((EMAIL, self.email), (SMS, self.sms)) if on)


def default_choice(kind: str) -> Choice:
    return Choice(kind, email=True, sms=False)


def every_choice(stored: Mapping[str, Choice]) -> list[Choice]:
    """Every kind, in the catalogue's order: the stored choice or the default."""
    return [stored.get(kind) or default_choice(kind) for kind in KINDS]


def checked_choices(choices: Iterable[Choice]) -> dict[str, Choice]:
    """Known kinds, each named once."""
    wanted: dict[str, Choice] = {}
    errors: dict[str, str] = {}
    for index, choice in enumerate(choices):
        if choice.kind not in KINDS:
            errors[f"choices[{index}].kind"] = f"one of: {', '.join(KINDS)}"
        elif choice.kind in wanted:
            errors[f"choices[{index}].kind"] = "each kind once"
        else:
            wanted[choice.kind] = choice
    if errors:
        raise InvalidArgument("the notification choices are not valid", errors)
    return wanted


@dataclass(frozen=True)
class Audience:
    """Whom a notice is for: holders of these permissions for the whole company, and these
    users (if they still are the company's active users)."""

    company_wide: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()

    @property
    def nobody(self) -> bool:
        return not self.company_wide and not self.user_ids


def kind_of(event: Event) -> str | None:
    """The kind of notice a public event is, or None when people are not told of it."""
    kind = KIND_OF_PUBLIC_TYPE.get(event.type)
    if kind == TICKET_ANSWERED and event.data.get("status") not in ANSWERED_STATUSES:
        return None
    return kind


def _user(value: Any) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) and value else ()


def starter_of(event: Event) -> tuple[str, ...]:
    """The user who started what the event tells of: the producer's field, else the user
    who caused the event (a user's own call, or their automation rule)."""
    operation = event.data.get("operation")
    if isinstance(operation, Mapping) and operation.get("created_by"):
        return _user(operation.get("created_by"))
    if event.data.get("created_by"):
        return _user(event.data.get("created_by"))
    if event.actor_kind in ("user", "rule"):
        return _user(event.actor)
    return ()


def audience_of(kind: str, event: Event) -> Audience:
    if kind in (FINANCIAL_BLOCK, BALANCE_LOW, PROMISED_PAYMENT_DUE):
        return Audience(company_wide=(FINANCE_VIEW,))
    if kind == LIMIT_REACHED:
        return Audience(company_wide=(NUMBERS_LIMITS, FINANCE_VIEW))
    if kind in (OPERATION_FINISHED, FILE_READY):
        return Audience(user_ids=starter_of(event))
    if kind == TICKET_ANSWERED:
        return Audience(user_ids=_user(event.data.get("author_id")))
    return Audience()


@dataclass(frozen=True)
class Person:
    """A user of the company as a notice reaches them (identity's directory)."""

    user_id: str
    email: str = ""
    phone: str = ""
    locale: str = "ru"
    company_wide: bool = True


def addressed(person: Person, channels: Iterable[str]) -> list[tuple[str, str]]:
    """(channel, address) for each chosen channel the person can be reached on."""
    address = {EMAIL: person.email, SMS: person.phone}
    return [(channel, address[channel]) for channel in channels if address.get(channel)]
