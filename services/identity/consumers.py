"""Other services' events (and identity's own) → identity's use cases.

The audit log takes every event: its handler is bound to the topic pattern `vm.#`. The
consumer gives an event to the handler of its exact type first, so a handler added here
for one type takes that type away from the pattern: it must call `cases.audit.record`
itself, in the same session, for the event to stay in the audit log.
"""

from __future__ import annotations

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity.service import IdentityCases
from services.kit.consumer import BatchHandler, EventHandler
from services.kit.events import Event, read_payload
from vm.catalog.events.v1 import events_pb2 as catalog_events

EVERY_EVENT = "vm.#"
NODE_CREATED = "vm.catalog.node.created.v1"
NODE_CHANGED = "vm.catalog.node.changed.v1"
NODE_DELETED = "vm.catalog.node.deleted.v1"


def handlers(cases: IdentityCases) -> dict[str, EventHandler]:
    nodes = cases.deps.stores.hierarchy

    async def node_changed(event: Event, session: AsyncClientSession) -> None:
        node = read_payload(event, catalog_events.NodeChanged)
        await nodes.record(node.company_id, node.node_id, node.parent_id or None, session)
        await cases.audit.record(event, session)

    async def node_deleted(event: Event, session: AsyncClientSession) -> None:
        node = read_payload(event, catalog_events.NodeDeleted)
        await nodes.forget(node.company_id, node.node_id, session)
        await cases.audit.record(event, session)

    return {
        # The audit log is one upsert per event, under the event's id: a batch's run of
        # them is one bulk write, and a repeated event finds its entry (so no marker).
        EVERY_EVENT: BatchHandler(cases.audit.record_all, keyed_by_event=True),
        NODE_CREATED: node_changed,
        NODE_CHANGED: node_changed,
        NODE_DELETED: node_deleted,
    }
