"""Our internal events, as the companies see them: the public events of API.md.

A webhook, an automation rule and a person's notification all take the same public event:
`number.blocked`, not `vm.catalog.number.blocked.v1`. Each public type comes from exactly one
internal type, but for `operation.finished`, which is an operation's last update (of any
service's journal) and not a single-number call: those are told once, as what they changed.

The public event keeps the internal event's id (so a webhook's `webhook-id`, `msg_` + that
id, is the same however often the broker hands it over), its time, source and subject, and
its data: the company's own facts, as its producer wrote them.

Pure: nothing here reads a store or a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from services.kit.events import Event

# The internal type each public type comes from.
PUBLIC_TYPE_OF: Mapping[str, str] = {
    "vm.catalog.number.blocked.v1": "number.blocked",
    "vm.catalog.number.unblocked.v1": "number.unblocked",
    "vm.catalog.number.tariff_changed.v1": "number.tariff_changed",
    "vm.catalog.number.service_connected.v1": "number.service_connected",
    "vm.catalog.number.service_disconnected.v1": "number.service_disconnected",
    "vm.catalog.number.sim_replaced.v1": "number.sim_replaced",
    "vm.catalog.number.msisdn_replaced.v1": "number.msisdn_replaced",
    "vm.billing.account.balance_exhausted.v1": "account.balance_exhausted",
    "vm.billing.account.balance_restored.v1": "account.balance_restored",
    "vm.billing.account.balance_low.v1": "account.balance_low",
    "vm.billing.payment.received.v1": "payment.received",
    "vm.billing.transfer.completed.v1": "transfer.completed",
    "vm.billing.limit.reached.v1": "limit.reached",
    "vm.billing.promised_payment.due.v1": "promised_payment.due",
    "vm.documents.file.ready.v1": "file.ready",
    "vm.tickets.ticket.status_changed.v1": "ticket.status_changed",
}
# Every service's journal updates; only an operation's last one is public.
OPERATION_UPDATED = "vm.*.operation.updated.v1"
OPERATION_FINISHED = "operation.finished"

# The binding keys the notifications service consumes for its public events.
CONSUMED_TYPES: tuple[str, ...] = (*PUBLIC_TYPE_OF, OPERATION_UPDATED)

# The journal's statuses (vm.common.v1.OperationStatus as JSON) that end an operation.
FINISHED_STATUSES = frozenset(
    {
        "OPERATION_STATUS_SUCCEEDED",
        "OPERATION_STATUS_FAILED",
        "OPERATION_STATUS_PARTIALLY_FAILED",
        "OPERATION_STATUS_CANCELLED",
    }
)


def _is_operation_update(event_type: str) -> bool:
    parts = event_type.split(".")
    return len(parts) == 5 and parts[0] == "vm" and parts[2:] == ["operation", "updated", "v1"]


def _finished_operation(data: Mapping[str, Any]) -> dict[str, Any] | None:
    operation = data.get("operation")
    if not isinstance(operation, Mapping):
        return None
    if operation.get("status") not in FINISHED_STATUSES or operation.get("single"):
        return None
    # The operation as it ended, without the per-target results of its last update (a
    # receiver reads those from the journal, all of them, not the last slice).
    return dict(operation)


def public_event(event: Event) -> Event | None:
    """The public event this internal one is, or None when it is none (or no company's)."""
    if not event.company_id:
        return None
    public_type = PUBLIC_TYPE_OF.get(event.type)
    if public_type is not None:
        return replace(event, type=public_type)
    if not _is_operation_update(event.type):
        return None
    operation = _finished_operation(event.data)
    if operation is None:
        return None
    return replace(event, type=OPERATION_FINISHED, data={"operation": operation})


def msisdns_of(event: Event) -> tuple[str, ...]:
    """The numbers a public event concerns (an automation rule's actions act on them): its
    `msisdn` (after a number's replacement, the new one: the old has left the company), or
    an account's `msisdns` (a balance exhausted or restored)."""
    msisdn = event.data.get("msisdn")
    if isinstance(msisdn, str) and msisdn:
        return (msisdn,)
    listed = event.data.get("msisdns")
    if not isinstance(listed, list):
        return ()
    return tuple(dict.fromkeys(m for m in listed if isinstance(m, str) and m))


def came_from_rule(event: Event) -> bool:
    """Whether an automation rule's action caused the event: such an event never triggers a
    rule (so rules cannot loop), though webhooks and people still hear of it."""
    return (event.actor_kind or "") == "rule"
