"""The audit log: who did what to what, when, and whether it was allowed.

Every service's events become entries of their company's log, and so do its refused
requests (`vm.<service>.request.denied.v1`). An entry is read off the event alone: the
actor and the company travel in the envelope, the target is the event's subject.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.kit.errors import InvalidArgument
from services.kit.events import Event

AUDIT_VIEW = "audit.view"
SUCCEEDED, DENIED = "succeeded", "denied"
UNKNOWN_ACTOR = "unknown"  # events of producers that did not yet say who acted
SUMMARY_MAX, VALUE_MAX = 300, 80
ACTOR_MAX, TYPE_MAX = 100, 200

# Field-name words that mark a secret: such values never reach the log.
_SECRET_WORDS = frozenset(
    {"password", "secret", "token", "code", "hash", "digest", "otp", "totp", "pin", "puk", "key"}
)
# ...unless the field only names the secret's id (e.g. api_key_id).
_ID_WORDS = frozenset({"id"})
# Repeated in every entry's own fields, so not worth the summary's room.
_OMITTED = frozenset({"company_id"})


@dataclass(frozen=True)
class AuditEntry:
    id: str  # the event's id: one entry per event
    company_id: str
    at: datetime
    actor: str  # a user id, an API key id, "operator", "anonymous" or "system"
    actor_kind: str
    type: str
    target: str
    result: str  # SUCCEEDED or DENIED
    service: str
    summary: str


@dataclass(frozen=True)
class AuditQuery:
    """The list's filters; empty strings and None mean "any". The window is half-open,
    `since <= at < until`, so that consecutive windows neither overlap nor leave gaps."""

    actor: str = ""
    type: str = ""
    since: datetime | None = None
    until: datetime | None = None


def audit_entry(event: Event) -> AuditEntry | None:
    """The entry for an event; None for an event of no company (no company's log has it)."""
    if not event.company_id:
        return None
    denied = is_denial(event.type)
    return AuditEntry(
        id=event.id,
        company_id=event.company_id,
        at=event.time,
        actor=event.actor or UNKNOWN_ACTOR,
        actor_kind=event.actor_kind or UNKNOWN_ACTOR,
        type=event.type,
        target=event.subject or "",
        result=DENIED if denied else SUCCEEDED,
        service=service_of(event),
        summary=denial_summary(event.data) if denied else summary_of(event.data),
    )


def is_denial(event_type: str) -> bool:
    """`vm.<service>.request.denied.v<N>`: a request the service refused."""
    return event_type.split(".")[2:4] == ["request", "denied"]


def service_of(event: Event) -> str:
    """The producing service: the last segment of the source (`/services/billing`), else
    the service word of the type."""
    name = event.source.rstrip("/").rsplit("/", 1)[-1]
    return name or event.type.split(".")[1]


def is_secret(field_name: str) -> bool:
    # Singular words: `codes` is `code`, `api_key_ids` ends in `id`.
    words = [word.removesuffix("s") for word in field_name.lower().split("_")]
    return words[-1] not in _ID_WORDS and any(word in _SECRET_WORDS for word in words)


def summary_of(data: Mapping[str, Any]) -> str:
    """`name=value, ...` of the event's data, secrets left out, cut to SUMMARY_MAX."""
    parts = [
        f"{name}={_short(_render(value))}"
        for name, value in data.items()
        if name not in _OMITTED and not is_secret(name)
    ]
    return _short(", ".join(parts), SUMMARY_MAX)


def denial_summary(data: Mapping[str, Any]) -> str:
    detail = str(data.get("detail") or data.get("reason") or "refused")
    address = str(data.get("client_address") or "")
    return _short(f"{detail} (from {address})" if address else detail, SUMMARY_MAX)


def _render(value: Any) -> str:
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k}={_render(v)}" for k, v in value.items() if not is_secret(str(k)))
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return str(value)


def _short(text: str, limit: int = VALUE_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def checked_query(
    actor: str, event_type: str, since: datetime | None, until: datetime | None
) -> AuditQuery:
    errors: dict[str, str] = {}
    if len(actor) > ACTOR_MAX:
        errors["actor"] = f"use at most {ACTOR_MAX} characters"
    if len(event_type) > TYPE_MAX:
        errors["type"] = f"use at most {TYPE_MAX} characters"
    # `from` after `to` is an empty window, not a malformed one: it holds no events.
    if errors:
        raise InvalidArgument("the audit log filter is not valid", errors)
    return AuditQuery(actor=actor.strip(), type=event_type.strip(), since=since, until=until)
