"""Webhook endpoints and their deliveries: what they are and the rules that need no store.

An endpoint is a URL of the company's that wants some of its public events. Each event it
wants becomes one delivery, identified towards the receiver by its message id (`msg_` and
the event's id): an event handed to us twice makes no second delivery, and a receiver that
gets one delivery twice (at least once) can tell by the `webhook-id` header.

Deliveries are signed with the endpoint's secret as the Standard Webhooks specification
says. A rotated secret stays valid for a day beside the new one — each delivery carries
both signatures, space-separated — so that the company can change its receiver without
losing a delivery.

Pure: randomness and time come in as arguments.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.kit.errors import InvalidArgument

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24  # 192 bits: the Standard Webhooks specification asks for 24 to 64
PREVIOUS_SECRET_VALID_FOR = timedelta(hours=24)
MESSAGE_ID_PREFIX = "msg_"
ALL_EVENTS = "*"
DESCRIPTION_MAX = 200
# What is kept of a receiver's answer, per attempt: enough to read an error message.
ANSWER_EXCERPT_BYTES = 1024

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"

# The public events (API.md, "Webhooks, automation rules and notifications").
PUBLIC_EVENT_TYPES = frozenset(
    {
        "number.blocked",
        "number.unblocked",
        "number.tariff_changed",
        "number.service_connected",
        "number.service_disconnected",
        "number.sim_replaced",
        "number.msisdn_replaced",
        "account.balance_exhausted",
        "account.balance_restored",
        "account.balance_low",
        "payment.received",
        "transfer.completed",
        "limit.reached",
        "promised_payment.due",
        "operation.finished",
        "file.ready",
        "ticket.status_changed",
    }
)

# The event of "send a test event": to one endpoint, whatever event types it takes.
TEST_EVENT = "webhook.test"
TEST_EVENT_TEXT = "Тестовое событие Виртуального менеджера: вебхук настроен верно."

# Why an endpoint was switched off: by the company, or by us after a day of failures.
DISABLED_BY_COMPANY = "disabled by the company"
DISABLED_FAILING = "every delivery failed for 24 hours"


@dataclass(frozen=True)
class SigningSecrets:
    """The endpoint's secret and, for a day after a rotation, the one before it."""

    current: str = field(repr=False)
    previous: str | None = field(default=None, repr=False)
    previous_valid_until: datetime | None = None

    def valid_at(self, now: datetime) -> tuple[str, ...]:
        """The secrets to sign with at `now`: the current one first."""
        if self.previous and self.previous_valid_until and now < self.previous_valid_until:
            return (self.current, self.previous)
        return (self.current,)

    def rotated(self, new_secret: str, now: datetime) -> SigningSecrets:
        return SigningSecrets(new_secret, self.current, now + PREVIOUS_SECRET_VALID_FOR)


@dataclass(frozen=True)
class Endpoint:
    id: str
    company_id: str
    url: str
    description: str
    event_types: tuple[str, ...]  # `*` alone: every public event
    secrets: SigningSecrets = field(repr=False)
    enabled: bool
    created_at: datetime
    disabled_reason: str = ""
    disabled_at: datetime | None = None
    # Since when every attempt has failed (None: the last one succeeded, or none was made).
    failing_since: datetime | None = None
    version: int = 0

    def wants(self, event_type: str) -> bool:
        return self.enabled and (ALL_EVENTS in self.event_types or event_type in self.event_types)


@dataclass(frozen=True)
class Attempt:
    at: datetime
    status_code: int | None  # None: no answer (see `error`)
    error: str  # what went wrong without an answer: a timeout, a refused address, …
    latency_ms: int
    answer: str  # the first ANSWER_EXCERPT_BYTES of the answer's body, as text


@dataclass(frozen=True)
class Delivery:
    id: str
    company_id: str
    endpoint_id: str
    message_id: str
    event_type: str
    event_time: datetime
    payload: str  # the exact JSON text signed and sent, the same at every attempt
    # Deliveries of one endpoint with the same key go out in the order of their events.
    ordering_key: str | None
    state: str
    created_at: datetime
    next_attempt_at: datetime | None
    attempts: tuple[Attempt, ...] = ()
    # The first attempt of the current series: the delivery schedule counts from it. A
    # manual retry starts a new series.
    series_started_at: datetime | None = None
    series_attempts: int = 0
    failure: str = ""  # why it failed for good, when no attempt says it


def new_secret(random_bytes: bytes) -> str:
    if len(random_bytes) < SECRET_BYTES:
        raise ValueError(f"a secret takes at least {SECRET_BYTES} random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode("ascii")


def message_id(event_id: str) -> str:
    return MESSAGE_ID_PREFIX + event_id


def checked_event_types(event_types: Iterable[str]) -> tuple[str, ...]:
    """The event types an endpoint subscribes to: public ones, or `*` alone."""
    chosen = tuple(dict.fromkeys(t.strip() for t in event_types))
    if not chosen:
        raise InvalidArgument(
            "choose the events to send", {"event_types": "choose at least one event, or *"}
        )
    if ALL_EVENTS in chosen:
        if len(chosen) > 1:
            raise InvalidArgument(
                "* already means every event", {"event_types": "* alone, or a list of events"}
            )
        return chosen
    unknown = sorted(set(chosen) - PUBLIC_EVENT_TYPES)
    if unknown:
        problem = "unknown events: " + ", ".join(unknown)
        raise InvalidArgument(problem, {"event_types": problem})
    return chosen


def checked_description(description: str) -> str:
    description = description.strip()
    if len(description) > DESCRIPTION_MAX:
        problem = f"at most {DESCRIPTION_MAX} characters"
        raise InvalidArgument(f"the description is too long: {problem}", {"description": problem})
    return description


def ordering_key(data: Mapping[str, Any]) -> str | None:
    """The number an event concerns, when it concerns one: its deliveries keep its order."""
    msisdn = data.get("msisdn")
    return msisdn if isinstance(msisdn, str) and msisdn else None


def webhook_payload(
    *,
    event_id: str,
    event_type: str,
    source: str,
    time: datetime,
    subject: str | None,
    data: Mapping[str, Any],
) -> str:
    """The body of a delivery: the event as a CloudEvent in JSON, with the company's data
    only (no trace ids, no actors of ours)."""
    body: dict[str, Any] = {
        "specversion": "1.0",
        "id": event_id,
        "type": event_type,
        "source": source,
        "time": time.isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "data": dict(data),
    }
    if subject:
        body["subject"] = subject
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def signature_header(signatures: Sequence[str]) -> str:
    """`webhook-signature`: every signature, space-separated; a receiver accepts the
    delivery if any of them is made with a secret it knows."""
    return " ".join(signatures)


def answer_excerpt(head: bytes) -> str:
    """What is kept of an answer's body: its first bytes, as text (a cut UTF-8 character
    and bytes that are not text at all become U+FFFD)."""
    return head[:ANSWER_EXCERPT_BYTES].decode("utf-8", errors="replace")
