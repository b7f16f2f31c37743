"""Other services' events (and identity's own) → identity's use cases.

The audit log takes every event: its handler is bound to the topic pattern `vm.#`. The
consumer gives an event to the handler of its exact type first, so a handler added here
for one type takes that type away from the pattern: it must call `cases.audit.record`
itself, in the same session, for the event to stay in the audit log.
"""

from __future__ import annotations

from services.identity.service import IdentityCases
from services.kit.consumer import EventHandler

EVERY_EVENT = "vm.#"


def handlers(cases: IdentityCases) -> dict[str, EventHandler]:
    return {EVERY_EVENT: cases.audit.record}
