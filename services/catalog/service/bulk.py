"""Catalog's use cases for bulk operations and SMS: start, look at, cancel.

Starting checks everything that can be checked before any number is touched — the type
and its params against the catalogue, that every listed number is the caller's to change
(or the node is within reach), the schedule, the idempotency key — then writes the
operation and its first `vm.catalog.operation.updated.v1` in one transaction and hands the
operation to the bulk worker through the work queue. The worker does the rest
(service/bulk_runner.py).

Who sees an operation: the one who started it, and everyone holding its type's permission
for the whole company. Anyone else — and another company — finds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.catalog.domain import bulk as rules
from services.catalog.domain.bulk import BulkOperation, TargetResult, Targets
from services.catalog.domain.numbers import Scope
from services.catalog.service.decisions import SOURCE
from services.catalog.store.catalogue import CatalogueStore
from services.catalog.store.hierarchy import NodeStore
from services.catalog.store.numbers import NumberStore
from services.catalog.store.operations import OperationStore
from services.kit import operation_status
from services.kit.authz import Access
from services.kit.caller_access import CallerAccessResolver
from services.kit.context import Caller
from services.kit.errors import NotAllowed, NotFound
from services.kit.events import Event, new_event
from services.kit.idempotency import check_replay, checked_idempotency_key, request_digest
from services.kit.ids import new_id
from services.kit.mongo import Transactions
from services.kit.outbox import Outbox
from services.kit.paging import decode_page_token, encode_page_token, page_size
from services.kit.work_queue import Dispatch, hand_over
from vm.common.v1 import common_pb2

log = logging.getLogger(__name__)

OPERATION_UPDATED = "vm.catalog.operation.updated.v1"
MOVE_TARGET = "hierarchy.manage"
SERVICE = "catalog"


class AccountCheck(Protocol):
    async def check_account(self, caller: Caller, account_id: str) -> None:
        """NotFound unless the account is the caller's company's."""


def operation_message(op: BulkOperation) -> common_pb2.Operation:
    message = common_pb2.Operation(
        id=op.id,
        type=op.type,
        status=operation_status.STATUS_VALUES[op.status],
        progress=op.progress.percent,
        total=op.total,
        done=op.done,
        failed=op.failed,
        unchanged=op.unchanged,
        created_by=op.created_by,
        company_id=op.company_id,
        title=op.title,
        dry_run=op.dry_run,
        service=SERVICE,
        permission=rules.PERMISSIONS.get(op.type, ""),
    )
    for name, value in (
        ("created_at", op.created_at),
        ("finished_at", op.finished_at),
        ("scheduled_at", op.scheduled_at),
        ("started_at", op.started_at),
    ):
        if value is not None:
            getattr(message, name).FromDatetime(value)
    return message


def result_message(result: TargetResult) -> common_pb2.OperationTargetResult:
    return common_pb2.OperationTargetResult(
        target=result.msisdn,
        status=result.status,
        code=result.code,
        detail=result.detail,
        seq=result.seq,
    )


def operation_updated(op: BulkOperation, results: Sequence[TargetResult] = ()) -> Event:
    payload = common_pb2.OperationUpdated(
        operation=operation_message(op), results=[result_message(r) for r in results]
    )
    return new_event(
        OPERATION_UPDATED, payload, source=SOURCE, company_id=op.company_id, subject=op.id
    )


@dataclass(frozen=True)
class BulkRequest:
    action: rules.Action  # a draft, checked when the operation starts
    msisdns: Sequence[str]
    node_id: str
    dry_run: bool
    scheduled_at: datetime | None
    idempotency_key: str


class BulkCases:
    def __init__(
        self,
        operations: OperationStore,
        numbers: NumberStore,
        nodes: NodeStore,
        catalogue: CatalogueStore,
        transactions: Transactions,
        outbox: Outbox,
        access: CallerAccessResolver,
        accounts: AccountCheck | None = None,
    ) -> None:
        self._operations = operations
        self._numbers = numbers
        self._nodes = nodes
        self._catalogue = catalogue
        self._tx = transactions
        self._outbox = outbox
        self._access = access
        self._accounts = accounts
        self._dispatch: Dispatch | None = None

    def dispatch_with(self, dispatch: Dispatch) -> None:
        """How a new operation reaches a worker at once (main.py, once the broker answers);
        without it the workers' sweepers find it within a second."""
        self._dispatch = dispatch

    async def ensure_indexes(self) -> None:
        await self._operations.ensure_indexes()

    # ------------------------------------------------------------ start

    async def start_bulk_operation(self, caller: Caller, request: BulkRequest) -> BulkOperation:
        action = rules.checked_action(request.action)
        if isinstance(action, rules.ChangeTariff | rules.ConnectService):
            rules.check_against_catalogue(action, await self._catalogue.catalogue())
        return await self._start(caller, request, action)

    async def send_sms(self, caller: Caller, request: BulkRequest) -> BulkOperation:
        return await self._start(caller, request, rules.checked_action(request.action))

    async def _start(
        self, caller: Caller, request: BulkRequest, action: rules.Action
    ) -> BulkOperation:
        now = datetime.now(UTC)
        targets = rules.checked_targets(list(request.msisdns), request.node_id)
        scheduled_at = rules.checked_schedule(request.scheduled_at, now)
        key = checked_idempotency_key(request.idempotency_key) if request.idempotency_key else ""
        operation_type = action.operation_type
        params = rules.action_params(action)
        digest = request_digest(
            {
                "type": operation_type,
                "targets": [list(targets.msisdns), targets.node_id],
                "params": params,
                "dry_run": request.dry_run,
                "scheduled_at": scheduled_at,
            }
        )
        access = await self._access.access(caller)
        if key and (replayed := await self._replay(access.company_id, key, digest)):
            return replayed
        permission = rules.permission_for(operation_type)
        scope = Scope.required(access, permission)
        if isinstance(action, rules.MoveToNode):
            await self._check_move_target(access, action.node_id)
        if isinstance(action, rules.MoveToAccount) and self._accounts is not None:
            await self._accounts.check_account(caller, action.account_id)
        total = await self._count_targets(access, scope, permission, targets)
        op = BulkOperation(
            id=new_id("op"),
            company_id=access.company_id,
            type=operation_type,
            params=params,
            targets=targets,
            scope_nodes=scope.nodes,
            created_by=caller.user_id or "",
            created_at=now,
            dry_run=request.dry_run and not isinstance(action, rules.SendSms),
            scheduled_at=scheduled_at,
            total=total,
        )

        async def write(session: AsyncClientSession) -> None:
            await self._operations.create(op, key, digest, session)
            await self._outbox.add(session, operation_updated(op))

        try:
            await self._tx.run(write)
        except DuplicateKeyError:  # the same key at the same moment: the first one wins
            replayed = await self._replay(access.company_id, key, digest)
            if replayed is None:
                raise
            return replayed
        await self._hand_to_worker(op)
        return op

    async def _replay(self, company_id: str, key: str, digest: str) -> BulkOperation | None:
        found = await self._operations.by_idempotency_key(company_id, key)
        if found is None:
            return None
        op, stored_digest = found
        check_replay(stored_digest, digest)
        return op

    async def _check_move_target(self, access: Access, node_id: str) -> None:
        tree = await self._nodes.tree(access.company_id)
        node = tree.get(node_id, field="params.node_id")  # a node of no tree of the company too
        access.require(MOVE_TARGET, node.path)

    async def _count_targets(
        self, access: Access, scope: Scope, permission: str, targets: Targets
    ) -> int:
        if targets.msisdns:
            found = await self._numbers.get_many(scope, targets.msisdns)
            if len(found) < len(targets.msisdns):
                # Named by count only: another company's number and no number look the same.
                missing = len(targets.msisdns) - len(found)
                raise NotFound(f"{missing} of the numbers are not found among yours")
            return len(found)
        tree = await self._nodes.tree(access.company_id)
        node = tree.get(targets.node_id, field="node_id")
        if not access.allows(permission, node.path):
            raise NotFound("no such node")  # a node outside the caller's reach is not shown
        total = await self._numbers.count_in(scope, node.id)
        if total == 0:
            raise NotAllowed("there are no numbers under this node", reason="NO_NUMBERS")
        return total

    async def _hand_to_worker(self, op: BulkOperation) -> None:
        if op.scheduled_at is not None:
            return  # a scheduled one is dispatched by a sweeper when it is due
        await hand_over(self._dispatch, op.id, self._operations.undispatched)

    # ------------------------------------------------------------ look and cancel

    async def get_operation(self, caller: Caller, operation_id: str) -> BulkOperation:
        access = await self._access.access(caller)
        return await self._visible(caller, access, operation_id)

    async def list_operations(
        self,
        caller: Caller,
        *,
        operation_type: str = "",
        status: str = "",
        size: int = 0,
        token: str = "",
    ) -> tuple[list[BulkOperation], str]:
        limit = page_size(size)
        rules.check_filter(operation_type, status)
        after = decode_page_token(token)
        access = await self._access.access(caller)
        found = await self._operations.page(
            access.company_id,
            visible_to=caller.user_id or "",
            company_wide_types=_company_wide_types(access),
            operation_type=operation_type,
            status=status,
            after=(datetime.fromisoformat(after[0]), after[1]) if after else None,
            limit=limit,
        )
        last = found[-1] if len(found) == limit else None
        next_token = encode_page_token([last.created_at.isoformat(), last.id]) if last else ""
        return found, next_token

    async def list_results(
        self, caller: Caller, operation_id: str, *, status: str = "", size: int = 0, token: str = ""
    ) -> tuple[list[TargetResult], str]:
        limit = page_size(size)
        operation_status.check_result_filter(status)
        after = decode_page_token(token)
        access = await self._access.access(caller)
        op = await self._visible(caller, access, operation_id)
        rows = await self._operations.results_page(
            op.company_id, op.id, status, int(after) if after is not None else None, limit
        )
        next_token = encode_page_token(rows[-1][0]) if len(rows) == limit else ""
        return [result for _, result in rows], next_token

    async def cancel_operation(self, caller: Caller, operation_id: str) -> BulkOperation:
        access = await self._access.access(caller)
        op = await self._visible(caller, access, operation_id)
        operation_status.check_cancellable(op.status)
        now = datetime.now(UTC)

        async def write(session: AsyncClientSession) -> BulkOperation:
            cancelled = await self._operations.cancel(op.company_id, op.id, now, session)
            if cancelled is None:
                raise NotAllowed("the operation has already ended", reason="OPERATION_FINISHED")
            if cancelled.status == operation_status.CANCELLED:  # it had not started: it ends here
                await self._outbox.add(session, operation_updated(cancelled))
            return cancelled

        return await self._tx.run(write)

    async def _visible(self, caller: Caller, access: Access, operation_id: str) -> BulkOperation:
        op = await self._operations.get(access.company_id, operation_id.strip())
        if op is None:
            raise NotFound("no such operation")
        mine = bool(caller.user_id) and op.created_by == caller.user_id
        if not mine and op.type not in _company_wide_types(access):
            raise NotFound("no such operation")
        return op


def _company_wide_types(access: Access) -> list[str]:
    """The types whose permission the caller holds for the whole company."""
    return [t for t, p in rules.PERMISSIONS.items() if access.nodes_with(p) is None]
