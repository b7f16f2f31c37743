"""What the notifications service does when a public event arrives, besides webhooks.

The events' consumer (consumers.py) turns each internal event into its public event
(domain/public_events.py) and hands a run of them to every reaction inside the consumer's
transaction (`session`): a reaction only records what is to be done — an automation rule's
firing, a notice to a person — so that it exists if and only if the event is recorded as
handled. The
network calls that follow (a rule's actions, an e-mail, an SMS) are made afterwards by the
notifications worker, never inside the transaction.

A reaction must be idempotent: the broker hands an event over at least once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pymongo.asynchronous.client_session import AsyncClientSession

from services.kit.events import Event


class PublicEventReaction(Protocol):
    async def __call__(self, events: Sequence[Event], session: AsyncClientSession) -> None:
        """Record, in `session`, what the public `events` (a run, in delivery order) call
        for: a handful of reads and writes for the run, not per event."""
        ...
