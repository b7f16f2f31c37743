"""The operation-results journal's use cases: take an operation's update (from any
service's `vm.<service>.operation.updated.v1`, or from documents' own transactions), list,
look at, list results, cancel.

The journal lists every operation of the company (fed by the events, so a few events
behind under load). One operation and its results are always as they are now: documents'
own are in the journal from the transaction that creates them, and a single-number call
(`single`) is told whole and finished; another service's are asked of their owner —
catalog — with the caller's own credential (the journal first says whether the caller
may see one it knows).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from pymongo.asynchronous.client_session import AsyncClientSession

from services.documents.domain import journal as rules
from services.documents.domain.journal import Progress
from services.documents.peers import CatalogPeer
from services.documents.store.journal import JournalStore, operation_from
from services.kit import operation_status, single_operation
from services.kit.authz import Access
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import NotFound
from services.kit.events import Event, read_payload
from services.kit.paging import decode_page_token, encode_page_token, page_size
from vm.common.v1 import common_pb2

CancelOwn = Callable[[Caller, str], Awaitable[common_pb2.Operation]]


class JournalCases:
    def __init__(
        self, store: JournalStore, catalog: CatalogPeer, access: CallerAccessResolver
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._access = access
        self._cancel_own: CancelOwn | None = None

    def cancel_own_with(self, cancel: CancelOwn) -> None:
        """How documents' own operations are cancelled (the jobs' use case)."""
        self._cancel_own = cancel

    # ------------------------------------------------------------ updates

    async def record_events(self, events: Sequence[Event], session: AsyncClientSession) -> None:
        """A run of operation updates (any service's), as if recorded one by one."""
        updates = [read_payload(event, common_pb2.OperationUpdated) for event in events]
        await self.record([(u.operation, u.results) for u in updates], session)

    async def record(
        self,
        updates: Sequence[tuple[common_pb2.Operation, Sequence[common_pb2.OperationTargetResult]]],
        session: AsyncClientSession | None,
    ) -> None:
        """Keep each operation's newest state, and the results each update decided of the
        operations answered here: a read and three writes whatever the number of updates.
        Another service's results are listed by their owner, so the journal keeps none of
        them (a bulk job's were two writes per number, never read)."""
        touched = {op.id for op, _ in updates}
        held = await self._store.held(touched, session)
        newest: dict[str, common_pb2.Operation] = {}
        for op, _ in updates:
            progress = Progress(operation_status.status_name(op.status), op.done)
            if rules.is_newer(progress, held.get(op.id)):
                held[op.id] = progress
                newest[op.id] = op
        await self._store.put(list(newest.values()), session)
        kept = [(op, results) for op, results in updates if _answered_here(op)]
        await self._store.put_results(kept, session)
        for op_id in {op.id for op, _ in kept}:
            if held[op_id].status == operation_status.CANCELLED:
                await self._store.cancel_pending(op_id, session)

    # ------------------------------------------------------------ reading

    async def list_operations(
        self, caller: Caller, operation_type: str, status: str, size: int, token: str
    ) -> tuple[list[common_pb2.Operation], str]:
        limit = page_size(size)
        rules.check_filter(operation_type.strip(), status)
        after = decode_page_token(token)
        access = await self._access.access(caller)
        found = await self._store.page(
            access.company_id,
            visible_to=caller.user_id or "",
            permissions=_company_wide(access),
            operation_type=operation_type.strip(),
            status=status,
            after=(datetime.fromisoformat(after[0]), after[1]) if after else None,
            limit=limit,
        )
        last = found[-1] if len(found) == limit else None
        next_token = (
            encode_page_token([last["created_at"].isoformat(), last["_id"]]) if last else ""
        )
        return [operation_from(doc) for doc in found], next_token

    async def get_operation(self, caller: Caller, operation_id: str) -> common_pb2.Operation:
        access = await self._access.access(caller)
        op = await self._visible(caller, access, operation_id.strip())
        if op is None or not _answered_here(op):
            # Another service's: its owner tells how it is now (the journal may be a few
            # events behind), checking the caller itself.
            return await self._catalog.operation(caller, operation_id.strip())
        return op

    async def list_results(
        self, caller: Caller, operation_id: str, status: str, size: int, token: str
    ) -> tuple[list[common_pb2.OperationTargetResult], str]:
        limit = page_size(size)
        operation_status.check_result_filter(status)
        access = await self._access.access(caller)
        op = await self._visible(caller, access, operation_id.strip())
        if op is None or not _answered_here(op):
            # Another service's: its owner lists the results as they are now.
            return await self._catalog.results(caller, operation_id.strip(), status, size, token)
        after = decode_page_token(token)
        rows = await self._store.results_page(
            access.company_id,
            op.id,
            status,
            (int(after[0]), str(after[1])) if after else None,
            limit,
        )
        next_token = encode_page_token(list(rows[-1][0])) if len(rows) == limit else ""
        return [result for _, result in rows], next_token

    async def cancel_operation(self, caller: Caller, operation_id: str) -> common_pb2.Operation:
        access = await self._access.access(caller)
        op = await self._visible(caller, access, operation_id.strip())
        if op is not None and _told_whole(op):
            operation_status.check_cancellable(operation_status.status_name(op.status))
        if op is not None and op.service == rules.OWN_SERVICE:
            assert self._cancel_own is not None
            return await self._cancel_own(caller, op.id)
        # Catalog's (or not heard of yet): its owner decides, checking the caller itself.
        return await self._catalog.cancel(caller, operation_id.strip())

    async def _visible(
        self, caller: Caller, access: Access, operation_id: str
    ) -> common_pb2.Operation | None:
        """The journal's operation if the caller may see it; None if the journal has not
        heard of it; NotFound if it is not the caller's to see (or documents' own
        operation does not exist: those are in the journal from the start)."""
        doc = await self._store.get(access.company_id, operation_id)
        if doc is None:
            if operation_id.startswith((OWN_PREFIX, single_operation.PREFIX)):
                raise NotFound("no such operation")
            return None
        if not rules.visible(
            doc.get("created_by", ""),
            doc.get("permission", ""),
            caller.user_id or "",
            _company_wide(access),
        ):
            raise NotFound("no such operation")
        return operation_from(doc)


# Documents' own operations' ids start so: never asked of another service.
OWN_PREFIX = "dop_"


# Services whose operations are told whole, once finished (an automation rule's run): the
# journal alone keeps them, as it keeps single-number calls.
TOLD_WHOLE = frozenset({"notifications"})


def _told_whole(op: common_pb2.Operation) -> bool:
    return op.single or op.service in TOLD_WHOLE


def _answered_here(op: common_pb2.Operation) -> bool:
    """Documents' own operations and those told whole (single-number calls, automation
    rules' runs: kept by the journal alone) are answered from the journal; the others by
    their owner."""
    return op.service == rules.OWN_SERVICE or _told_whole(op)


def _company_wide(access: Access) -> frozenset[str]:
    """The permissions the caller holds for the whole company."""
    return access.scopes.get(None, frozenset())
