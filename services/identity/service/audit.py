"""The audit log: every service's events collected into entries, and the list (audit.view)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.identity.domain.audit import AUDIT_VIEW, AuditEntry, audit_entry, checked_query
from services.identity.service.access import AccessCases
from services.identity.service.base import Deps
from services.identity.store.audit import AuditKey
from services.kit.context import Caller
from services.kit.errors import InvalidArgument
from services.kit.events import Event
from services.kit.paging import decode_page_token, encode_page_token, page_size


class AuditCases:
    def __init__(self, deps: Deps, access: AccessCases) -> None:
        self._deps = deps
        self._access = access

    async def record(self, event: Event, session: AsyncClientSession) -> None:
        """The consumer's handler for every event (it dedupes by event id)."""
        entry = audit_entry(event)
        if entry is None:
            return
        await self._deps.stores.audit.add(entry, session)

    async def record_all(self, events: Sequence[Event], session: AsyncClientSession) -> None:
        """`record` of a run of events at once (the consumer's batch): one bulk write."""
        entries = [entry for event in events if (entry := audit_entry(event)) is not None]
        await self._deps.stores.audit.add_all(entries, session)

    async def list_events(
        self,
        caller: Caller,
        size: int,
        token: str,
        *,
        actor: str = "",
        event_type: str = "",
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[list[AuditEntry], str]:
        """The company's entries, newest first, one keyset page at a time."""
        _, access = await self._access.caller(caller)
        access.require(AUDIT_VIEW)
        query = checked_query(actor, event_type, since, until)
        limit = page_size(size)
        entries = await self._deps.stores.audit.page(
            access.company_id, query, after=_key_of(token), limit=limit + 1
        )
        if len(entries) <= limit:
            return entries, ""
        last = entries[limit - 1]
        return entries[:limit], encode_page_token([last.at.isoformat(), last.id])


def _key_of(token: str) -> AuditKey | None:
    last = decode_page_token(token)
    if last is None:
        return None
    try:
        at, entry_id = last
        return datetime.fromisoformat(at), str(entry_id)
    except (TypeError, ValueError) as error:
        raise InvalidArgument(
            "the page token is not valid", {"page_token": "use the token from the previous page"}
        ) from error
